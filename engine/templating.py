"""Templates between steps: ``{{ trigger.x }}``, ``{{ steps.<id>.output.y }}`` and filters.

Rendered by jinja2's sandboxed environment (never ``eval``). A lone ``{{ expr }}`` keeps the
value's type (a number stays a number); a missing variable is an error that names it.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment


class TemplateProblem(ValueError):
    """A template that cannot be rendered (the message names the missing variable)."""


def _to_number(value: Any) -> float | int:
    number = float(value)
    return int(number) if number.is_integer() else number


def _date(value: Any, fmt: str = "%Y-%m-%d") -> str:
    moment = (
        value
        if isinstance(value, datetime)
        else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    )
    return moment.strftime(fmt)


ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
ENV.filters.update(
    {
        "number": _to_number,
        "json": lambda v: json.dumps(v, default=str),
        "from_json": json.loads,
        "date": _date,
        "digits": lambda v: "".join(ch for ch in str(v) if ch.isdigit()),
        "e164": lambda v: "+" + "".join(ch for ch in str(v) if ch.isdigit()),
        "yesno": lambda v: "yes" if v in (True, "true", "True", 1, "1", "yes") else "no",
    }
)


def has_template(value: Any) -> bool:
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, dict):
        return any(has_template(v) for v in value.values())
    if isinstance(value, list):
        return any(has_template(v) for v in value)
    return False


def render(value: Any, context: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        return {k: render(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, context) for v in value]
    try:
        return _render(value, context)
    except UndefinedError as exc:
        raise TemplateProblem(f"missing variable in {value!r}: {exc.message}") from exc
    except TemplateError as exc:
        raise TemplateProblem(f"template error in {value!r}: {exc}") from exc


@lru_cache(maxsize=4096)
def _compiled(text: str) -> tuple[bool, Any]:
    """(is a lone expression, compiled form), compiled once per distinct template."""
    stripped = text.strip()
    if stripped.startswith("{{") and stripped.endswith("}}") and stripped.count("{{") == 1:
        return True, ENV.compile_expression(stripped[2:-2].strip(), undefined_to_none=False)
    return False, ENV.from_string(text)


def _render(value: Any, context: dict[str, Any]) -> Any:
    if isinstance(value, str) and has_template(value):
        lone, compiled = _compiled(value)
        if lone:
            result = compiled(**context)
            if hasattr(result, "_undefined_name"):  # StrictUndefined returned, not raised
                str(result)
            return result
        return compiled.render(**context)
    return value
