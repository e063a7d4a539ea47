"""``assert_conforms(response, vendor="caspio")``: check one response your own code got (from
a fake or the real vendor) against the vendor's spec — documented status, documented response
headers (required ones present, values matching their schema), JSON body matching the response
schema — and fail with every violation listed. Paths the vendor also serves under another
spelling (Caspio's ``/rest/v2``) are checked as the spec's operation.

    from careflow.contracts import assert_conforms

    def test_my_client(caspio):
        response = my_client.get_records("Patients")
        assert_conforms(response, vendor="caspio")
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import httpx
from jsonschema import Draft202012Validator

from .vendors import vendor as get_vendor


class ConformanceError(AssertionError):
    pass


@cache
def _routes(name: str) -> list[tuple[re.Pattern[str], str, str]]:
    v = get_vendor(name)
    out = []
    for template, item in v.spec()["paths"].items():
        pattern = re.sub(r"\\\{[^}]+\\\}", r"[^/]+", re.escape(v.prefix + template))
        for method in item:
            if method in ("get", "post", "put", "patch", "delete"):
                out.append((re.compile(f"^{pattern}/?$"), method, template))
    # literal templates before parameterised ones (/leads before /leads/{id})
    return sorted(out, key=lambda r: r[2].count("{"))


def find_operation(name: str, method: str, path: str) -> tuple[str, dict[str, Any]]:
    spec = get_vendor(name).spec()
    canonical = get_vendor(name).spec_path(path)
    for pattern, m, template in _routes(name):
        if m == method.lower() and pattern.match(canonical):
            return template, spec["paths"][template][m]
    raise ConformanceError(
        f"{method.upper()} {path} is not an operation of the {name} spec "
        f"({get_vendor(name).package}/{get_vendor(name).spec_file})"
    )


def problems(response: httpx.Response, vendor: str) -> list[str]:
    spec = get_vendor(vendor).spec()
    request = response.request
    template, operation = find_operation(vendor, request.method, request.url.path)
    where = f"{request.method} {template} → {response.status_code}"
    responses = operation.get("responses", {})
    documented = responses.get(str(response.status_code)) or responses.get("default")
    if documented is None:
        return [
            f"{where}: status {response.status_code} is not documented ({', '.join(responses)})"
        ]
    if "$ref" in documented:
        documented = _resolve(spec, documented["$ref"])
    found = header_problems(spec, documented, response, where)
    content = documented.get("content") or {}
    media = response.headers.get("content-type", "").split(";")[0].strip()
    if not content:
        return found
    if media not in content:
        return [
            *found,
            f"{where}: content type {media or '-'} is not documented ({', '.join(content)})",
        ]
    schema = content[media].get("schema")
    if not schema or "json" not in media:
        return found
    try:
        body = response.json()
    except ValueError:
        return [f"{where}: body is not JSON: {response.text[:200]}"]
    validator = Draft202012Validator({**schema, "components": spec.get("components", {})})
    return found + [
        f"{where}: at {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    ]


def header_problems(
    spec: dict[str, Any], documented: dict[str, Any], response: httpx.Response, where: str
) -> list[str]:
    """Required documented headers present; present ones matching their schema."""
    out = []
    for name, header in (documented.get("headers") or {}).items():
        if "$ref" in header:
            header = _resolve(spec, header["$ref"])
        value = response.headers.get(name)
        if value is None:
            if header.get("required"):
                out.append(f"{where}: header {name} is missing (documented as required)")
            continue
        schema = header.get("schema") or {}
        if schema.get("type") in ("integer", "number"):
            try:
                typed: Any = float(value) if schema["type"] == "number" else int(value)
            except ValueError:
                out.append(f"{where}: header {name}: {value!r} is not an {schema['type']}")
                continue
        else:
            typed = value
        validator = Draft202012Validator({**schema, "components": spec.get("components", {})})
        out += [f"{where}: header {name}: {e.message}" for e in validator.iter_errors(typed)]
    return out


def assert_conforms(response: httpx.Response, vendor: str) -> None:
    found = problems(response, vendor)
    if found:
        raise ConformanceError(
            f"the response does not conform to the {vendor} spec:\n"
            + "\n".join(f"- {p}" for p in found)
        )


def _resolve(spec: dict[str, Any], ref: str) -> dict[str, Any]:
    node: Any = spec
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node
