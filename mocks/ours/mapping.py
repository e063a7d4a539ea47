"""Mapping building blocks of the pipeline: field modifications (hashes, case changes), the
templates a mapping renders (jinja2's sandbox) and the logic trees of governance and mapping
gates ([C] ours-privacy.md §9). pipeline.py runs them; compiled.py compiles a destination's
mappings from them once."""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any

from careflow.mocks.kernel import parse_instant

from .phi import PhiKind

# --- modifications ([C] §9 field modifications; the PHI-handling subset the fake implements) ---


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text))


# Hashing modifications: how each normalises the value before it is hashed.
HASH_NORMALISERS: dict[str, Callable[[Any], str]] = {
    "Hash": str,
    "HashMD5": str,
    "HashedNormalized": lambda v: str(v).strip().lower(),
    "HashedNormalizedNoSpecialChars": lambda v: re.sub(r"[^a-z0-9]", "", str(v).lower()),
    "HashedPhone": lambda v: "".join(ch for ch in str(v) if ch.isdigit()),
    "HashedZip": lambda v: str(v).strip()[:5],
    "HashedState": lambda v: str(v).strip().lower(),
    "HashedCountry": lambda v: str(v).strip().lower(),
    "HashedGender": lambda v: str(v).strip().lower()[:1],
    "HashedDateOfBirth": lambda v: re.sub(r"\D", "", str(v)),
}

MODIFICATIONS: dict[str, Callable[[Any], Any]] = {
    "None": lambda v: v,
    "Null": lambda v: None,
    "Redacted": lambda v: "REDACTED",
    "LowerCase": lambda v: str(v).lower(),
    "UpperCase": lambda v: str(v).upper(),
    "SnakeCase": lambda v: "_".join(w.lower() for w in _words(str(v))),
    "KebabCase": lambda v: "-".join(w.lower() for w in _words(str(v))),
    "CamelCase": lambda v: "".join(
        w.lower() if i == 0 else w.capitalize() for i, w in enumerate(_words(str(v)))
    ),
    "StartCase": lambda v: " ".join(w.capitalize() for w in _words(str(v))),
    "DomainOnly": lambda v: re.sub(r"^[a-z]+://([^/?#]+).*$", r"\1", str(v)),
}


def modify(value: Any, modification: str | None, salt: str = "") -> Any:
    """Apply a modification. [C] §9 each destination has a ``hashingSalt``; [?] how it is used
    is not published: the fake prefixes it to the normalised value before any hash (an empty
    salt, the default, gives the plain hash ad platforms match on)."""
    if value is None or modification is None:
        return value
    if modification in HASH_NORMALISERS:
        text = salt + HASH_NORMALISERS[modification](value)
        if modification == "HashMD5":
            return hashlib.md5(text.encode()).hexdigest()
        return _sha(text)
    if modification not in MODIFICATIONS:
        raise ValueError(f"unknown modification {modification!r}")
    return MODIFICATIONS[modification](value)


def default_phi(value: Any, kind: PhiKind, policy: str, salt: str = "") -> Any:
    """[C] §9 PHI reaches destinations hashed or redacted by default (``phi_default``);
    ``kind`` is what phi.py detected (a phone is hashed as digits)."""
    if value is None or isinstance(value, bool) or policy == "off":
        return value
    if policy == "redact":
        return "REDACTED"
    return modify(value, "HashedPhone" if kind == "phone" else "HashedNormalized", salt)


# --- templates (jinja2's sandbox: user-written mappings never run arbitrary code) -------------


@lru_cache(maxsize=1)
def _env() -> Any:
    """jinja2's sandbox, built (and jinja2 imported) when a template first needs more than a
    plain ``{{ event.a.b }}`` lookup."""
    from jinja2 import ChainableUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    return ImmutableSandboxedEnvironment(undefined=ChainableUndefined, autoescape=False)


def _template_error(exc: Exception) -> bool:
    jinja2 = sys.modules.get("jinja2")
    return jinja2 is not None and isinstance(exc, jinja2.TemplateError)


def _undefined(value: Any) -> bool:
    jinja2 = sys.modules.get("jinja2")
    return jinja2 is not None and isinstance(value, jinja2.ChainableUndefined)


_SINGLE = re.compile(r"^\{\{\s*(.+?)\s*\}\}$", re.S)
# ``{{ event.a.b }}``: a plain dotted reference is looked up directly (same result as jinja2's
# item lookup on these dicts, without building a jinja2 context per field: the hot path).
_DOTTED = re.compile(r"^(event|visitor)(\.[A-Za-z_][A-Za-z0-9_]*)*$")


@lru_cache(maxsize=1024)
def _compiled(template: str) -> tuple[bool, Any]:
    """(is_expression, compiled): a mapping is compiled once, then rendered per event."""
    single = _SINGLE.match(template)
    if single and _DOTTED.match(single.group(1)):
        path = single.group(1).split(".")
        return True, lambda **context: _walk(context, path)
    if single and "}}" not in single.group(1):
        return True, _env().compile_expression(single.group(1))
    return False, _env().from_string(template)


def render(template: str, context: dict[str, Any]) -> Any:
    """``{{ event.x }}`` alone keeps the value's type; other templates render text; a bare
    string is sent verbatim ([C] §9)."""
    if "{{" not in template and "{%" not in template:
        return template
    try:
        is_expression, compiled = _compiled(template)
        if is_expression:
            value = compiled(**context)
            value = None if _undefined(value) else value
        else:
            value = compiled.render(**context)
    except (ArithmeticError, TypeError, ValueError) as exc:
        raise ValueError(f"mapping template {template!r}: {exc}") from exc
    except Exception as exc:
        if _template_error(exc):
            raise ValueError(f"mapping template {template!r}: {exc}") from exc
        raise
    if not _json_safe(value):
        raise ValueError(f"mapping template {template!r} gives a {type(value).__name__}")
    return value


def _json_safe(value: Any) -> bool:
    if value is None or isinstance(value, str | int | float | bool):
        return True
    if isinstance(value, list | tuple):
        return all(_json_safe(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_safe(v) for k, v in value.items())
    return False


def _walk(context: dict[str, Any], path: list[str]) -> Any:
    current: Any = context
    for part in path:
        if not isinstance(current, dict):
            return None
        current = current.get(part)
    return current


def _set_path(target: dict[str, Any], path: str, value: Any) -> None:
    """Set ``a.b.c``; each object on the way is copied, since it may be a rendered value that
    is still the event's own data (writing into it would change the event, or make a cycle)."""
    parts = path.split(".")
    for part in parts[:-1]:
        child = target.get(part)
        target[part] = child = dict(child) if isinstance(child, dict) else {}
        target = child
    target[parts[-1]] = value


# --- logic trees (governance and mapping gates) ------------------------------------------------


@lru_cache(maxsize=1024)  # a logic tree's paths are evaluated for every event
def _path_parts(path: str) -> tuple[str, ...]:
    return tuple(path.lstrip("$").split("."))


def _lookup(path: str, context: dict[str, Any]) -> Any:
    current: Any = context
    for part in _path_parts(path):
        if isinstance(current, dict):
            current = current.get(part)
        else:
            return None
    return current


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _instant(value: Any) -> datetime | None:
    try:
        return parse_instant(str(value))
    except ValueError:
        return None


def _compare(op: str, left: Any, right: Any) -> bool:
    a, b = _number(left), _number(right)
    if a is None or b is None:
        return False
    return {
        "IsGreaterThan": a > b,
        "IsGreaterThanOrEqual": a >= b,
        "IsLessThan": a < b,
        "IsLessThanOrEqual": a <= b,
    }[op]


def _dates(op: str, left: Any, right: Any) -> bool:
    a, b = _instant(left), _instant(right)
    if a is None or b is None:
        return False
    return {"IsBefore": a < b, "IsAfter": a > b, "IsOnOrBefore": a <= b, "IsOnOrAfter": a >= b}[op]


def _contains(left: Any, right: Any) -> bool:
    if isinstance(left, list | tuple | dict):
        return right in left
    return left is not None and str(right) in str(left)


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "Is": lambda a, b: a == b,
    "IsNot": lambda a, b: a != b,
    "Contains": _contains,
    "DoesNotContain": lambda a, b: not _contains(a, b),
    "StartsWith": lambda a, b: isinstance(a, str) and a.startswith(str(b)),
    "EndsWith": lambda a, b: isinstance(a, str) and a.endswith(str(b)),
    "IsTruthy": lambda a, _b: bool(a),
    "IsFalsy": lambda a, _b: not a,
    "IsNull": lambda a, _b: a is None,
    "IsNotNull": lambda a, _b: a is not None,
    "IsUndefined": lambda a, _b: a is None,
    "IsNotUndefined": lambda a, _b: a is not None,
    "IsTrue": lambda a, _b: a is True,
    "IsFalse": lambda a, _b: a is False,
    "IsIn": lambda a, b: isinstance(b, list) and a in b,
    "IsNotIn": lambda a, b: not (isinstance(b, list) and a in b),
    "IsFoundIn": lambda a, b: a is not None and str(a) in str(b),
    "IsNotFoundIn": lambda a, b: a is None or str(a) not in str(b),
    "MatchesRegex": lambda a, b: a is not None and re.search(str(b), str(a)) is not None,
    "MatchesRegexIgnoreCase": lambda a, b: (
        a is not None and re.search(str(b), str(a), re.I) is not None
    ),
    "DoesNotMatchRegex": lambda a, b: a is None or re.search(str(b), str(a)) is None,
    "DoesNotMatchRegexIgnoreCase": lambda a, b: (
        a is None or re.search(str(b), str(a), re.I) is None
    ),
    "IsBetween": lambda a, b: (
        isinstance(b, list)
        and len(b) == 2
        and _compare("IsGreaterThanOrEqual", a, b[0])
        and _compare("IsLessThanOrEqual", a, b[1])
    ),
}
for _op in ("IsGreaterThan", "IsGreaterThanOrEqual", "IsLessThan", "IsLessThanOrEqual"):
    OPERATORS[_op] = lambda a, b, _op=_op: _compare(_op, a, b)
for _op in ("IsBefore", "IsAfter", "IsOnOrBefore", "IsOnOrAfter"):
    OPERATORS[_op] = lambda a, b, _op=_op: _dates(_op, a, b)


def evaluate(logic: dict[str, Any] | None, context: dict[str, Any]) -> bool:
    """A logic tree: ``{"operator": "AND"|"OR", "conditions": [...]}``, ``{"operator": "NOT",
    "conditions": [one]}`` or a leaf ``{"path": "visitor.consent.x", "operator": "Contains",
    "value": ...}``. [C] §9 operators and combinators; [?] the JSON shape is the fake's."""
    if not logic:
        return True
    op = logic.get("operator")
    if op in ("AND", "OR", "NOT"):
        results = [evaluate(c, context) for c in logic.get("conditions", [])]
        if op == "AND":
            return all(results)
        if op == "OR":
            return any(results)
        return not all(results)
    if op not in OPERATORS:
        raise ValueError(f"unknown logic operator {op!r}")
    return OPERATORS[op](_lookup(str(logic.get("path", "")), context), logic.get("value"))
