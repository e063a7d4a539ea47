"""Request validation against a vendor's OpenAPI 3.1 spec (the YAML in ``contracts/``).

A fake keeps its documented vendor errors in its own model layer; this is the catch-all behind
them: query parameters and the request body of an operation are checked against the spec's
schemas, and the first problem found names the field. Form and query values arrive as strings,
so they are read as the schema's number, integer or boolean before checking. Nothing here knows
a vendor: the fake turns a ``Problem`` into its own error shape.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # jsonschema loads with the first validation
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

_METHODS = ("get", "post", "put", "patch", "delete")
_ANY: dict[str, Any] = {}  # a missing schema (kept as one object: validators are cached by id)
_NAMED = re.compile(r"'([^']+)' (?:is a required property|was unexpected)")


@dataclass(frozen=True)
class Problem:
    field: str
    reason: str


class RequestValidator:
    def __init__(self, spec: Mapping[str, Any], prefix: str = "") -> None:
        self.spec = spec
        self.components = spec.get("components", {})
        self._validators: dict[int, Draft202012Validator] = {}
        self.routes: list[tuple[re.Pattern[str], str, dict[str, Any], list[Any]]] = []
        for template, item in spec.get("paths", {}).items():
            pattern = re.sub(r"\\\{[^}]+\\\}", r"[^/]+", re.escape(prefix + template))
            shared = item.get("parameters", [])
            for method in _METHODS:
                if method in item:
                    self.routes.append((re.compile(f"^{pattern}/?$"), method, item[method], shared))
        self.routes.sort(key=lambda r: r[0].pattern.count("[^/]+"))  # literal paths first

    def operation(self, method: str, path: str) -> tuple[dict[str, Any], list[Any]] | None:
        for pattern, m, operation, shared in self.routes:
            if m == method.lower() and pattern.match(path):
                return operation, shared
        return None

    def problem(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        body: Mapping[str, Any] | None = None,
        media_type: str = "application/x-www-form-urlencoded",
    ) -> Problem | None:
        """The first way this request breaks the spec, or None (also for undocumented routes)."""
        found = self.operation(method, path)
        if found is None:
            return None
        operation, shared = found
        for parameter in [*shared, *operation.get("parameters", [])]:
            parameter = self.resolve(parameter)
            if parameter.get("in") != "query":
                continue
            name = parameter["name"]
            if name not in query:
                if parameter.get("required"):
                    return Problem(name, "it is required")
                continue
            schema = parameter.get("schema", _ANY)
            error = self._first_error(schema, self._read(schema, query[name]))
            if error is not None:
                return Problem(name, error.message)
        if body is None or "requestBody" not in operation:
            return None
        content = self.resolve(operation["requestBody"]).get("content", {})
        media = media_type if media_type in content else next(iter(content), None)
        if media is None:
            return None
        schema = self.resolve(content[media].get("schema", _ANY))
        properties = schema.get("properties", {})
        typed = {
            k: self._read(self.resolve(properties.get(k, {})), v) if isinstance(v, str) else v
            for k, v in body.items()
        }
        error = self._first_error(schema, typed)
        if error is None:
            return None
        if error.absolute_path:
            return Problem(str(error.absolute_path[0]), error.message)
        named = _NAMED.search(error.message)
        return Problem(named.group(1) if named else "body", error.message)

    def resolve(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            target: Any = self.spec
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = target
        return node

    def _first_error(self, schema: Mapping[str, Any], value: Any) -> ValidationError | None:
        from jsonschema import Draft202012Validator, FormatChecker
        from jsonschema.exceptions import best_match

        validator = self._validators.get(id(schema))
        if validator is None:  # schemas are nodes of self.spec: one validator each
            validator = Draft202012Validator(
                {**schema, "components": self.components}, format_checker=FormatChecker()
            )
            self._validators[id(schema)] = validator
        if validator.is_valid(value):  # the usual case: no error objects built at all
            return None
        return best_match(validator.iter_errors(value))

    def _read(self, schema: Mapping[str, Any], text: str) -> Any:
        """A query/form string as the schema's type (left as is when it cannot be read)."""
        kinds = schema.get("type", [])
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if "string" in kinds or not kinds:
            return text
        if "integer" in kinds and re.fullmatch(r"[+-]?\d+", text.strip()):
            return int(text)
        if "number" in kinds:
            try:
                number = float(text)
            except ValueError:
                return text
            return int(number) if number.is_integer() and "." not in text else number
        if "boolean" in kinds and text in ("true", "false"):
            return text == "true"
        return text
