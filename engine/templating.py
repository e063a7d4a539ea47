"""Templates between steps: ``{{ trigger.x }}``, ``{{ steps.<id>.output.y }}`` and filters.

Rendered by jinja2's sandboxed environment (never ``eval``). A lone ``{{ expr }}`` keeps the
value's type (a number stays a number); a missing variable is an error that names it. jinja2 loads
with the first template compiled (``careflow up`` starts without it).
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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


@lru_cache(maxsize=1)
def environment() -> SandboxedEnvironment:
    """The one sandboxed environment every template compiles in (built on first use)."""
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
    env.filters.update(_FILTERS)
    return env


_FILTERS: dict[str, Any] = {
    "number": _to_number,
    "json": lambda v: json.dumps(v, default=str),
    "from_json": json.loads,
    "date": _date,
    "digits": lambda v: "".join(ch for ch in str(v) if ch.isdigit()),
    "e164": lambda v: "+" + "".join(ch for ch in str(v) if ch.isdigit()),
    "yesno": lambda v: "yes" if v in (True, "true", "True", 1, "1", "yes") else "no",
}


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
    except Exception as exc:
        from jinja2 import TemplateError, UndefinedError  # loaded: a template was compiled

        if isinstance(exc, UndefinedError):
            raise TemplateProblem(f"missing variable in {value!r}: {exc.message}") from exc
        if isinstance(exc, TemplateError):
            raise TemplateProblem(f"template error in {value!r}: {exc}") from exc
        raise


@lru_cache(maxsize=4096)
def _compiled(text: str) -> tuple[bool, Any]:
    """(is a lone expression, compiled form), compiled once per distinct template."""
    stripped = text.strip()
    if stripped.startswith("{{") and stripped.endswith("}}") and stripped.count("{{") == 1:
        return True, environment().compile_expression(
            stripped[2:-2].strip(), undefined_to_none=False
        )
    return False, environment().from_string(text)


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
