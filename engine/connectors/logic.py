"""Keragon's logic steps: Continue if, Branch, Delay for, Delay until.

Each returns its output and a directive the run's executor follows (base.py): ``continue_if`` →
``{"passed": bool}``, and ``SkipRest`` when false; ``branch`` → ``{"path": name}`` and
``InsertSteps`` (the chosen path's steps); ``delay_*`` → ``{"until": ISO instant}`` and
``WakeAt``. They compute in-process (``local``) and have no side effects.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from careflow.clock import format_instant

from ..templating import render
from .base import Action, Context, Directed, InsertSteps, Params, SkipRest, WakeAt, action

# Keragon's condition operators ([C] keragon.md §3: Continue if and Branch share the list).
OPS: dict[str, Any] = {
    "is_true": lambda a, b: _truthy(a) is True,
    "is_false": lambda a, b: _truthy(a) is False,
    "is_null": lambda a, b: a is None,
    "is_not_null": lambda a, b: a is not None,
    "is_empty": lambda a, b: a in (None, "", [], {}),
    "is_not_empty": lambda a, b: a not in (None, "", [], {}),
    "equals": lambda a, b: _same(a, b),
    "does_not_equal": lambda a, b: not _same(a, b),
    "greater_than": lambda a, b: _num(a) > _num(b),
    "greater_than_or_equal": lambda a, b: _num(a) >= _num(b),
    "less_than": lambda a, b: _num(a) < _num(b),
    "less_than_or_equal": lambda a, b: _num(a) <= _num(b),
    "starts_with": lambda a, b: str(a or "").startswith(str(b)),
    "does_not_start_with": lambda a, b: not str(a or "").startswith(str(b)),
    "ends_with": lambda a, b: str(a or "").endswith(str(b)),
    "does_not_end_with": lambda a, b: not str(a or "").endswith(str(b)),
    "contains": lambda a, b: _contains(a, b),
    "does_not_contain": lambda a, b: not _contains(a, b),
}
ALIASES = {
    "not_equals": "does_not_equal",
    "gt": "greater_than",
    "lt": "less_than",
    "gte": "greater_than_or_equal",
    "lte": "less_than_or_equal",
}


def op_name(op: str) -> str:
    """``"does not equal"``, ``"Does-Not-Equal"`` and ``does_not_equal`` are the same operator."""
    name = re.sub(r"[\s-]+", "_", op.strip().lower())
    return ALIASES.get(name, name)


def _truthy(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "1"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "no", "0", ""):
        return False
    if isinstance(value, int | float):
        return bool(value)
    return None


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not a number") from None


def _same(a: Any, b: Any) -> bool:
    if a == b:
        return True
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return str(a) == str(b) if a is not None and b is not None else False


def _known_op(op: str | None) -> str | None:
    """An operator on the field itself, so a save-time error points at ``op``."""
    if op is not None and op_name(op) not in OPS:
        raise ValueError(f"unknown operator {op!r}; known: {', '.join(OPS)}")
    return op


def _contains(a: Any, b: Any) -> bool:
    if isinstance(a, list | dict):
        return b in a
    return str(b) in str(a or "")


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: Any = None
    op: str
    other: Any = None

    @field_validator("op")
    @classmethod
    def _known(cls, op: str | None) -> str | None:
        return _known_op(op)

    def holds(self) -> bool:
        return bool(OPS[op_name(self.op)](self.value, self.other))


class ConditionParams(Params):
    """One condition (value/op/other) or several (``conditions`` with ``match: all|any``)."""

    value: Any = None
    op: str | None = None
    other: Any = None
    conditions: list[Condition] | None = None
    match: Literal["all", "any"] = "all"

    @field_validator("op")
    @classmethod
    def _known(cls, op: str | None) -> str | None:
        return _known_op(op)

    @model_validator(mode="after")
    def _shape(self) -> ConditionParams:
        if (self.op is None) == (self.conditions is None):
            raise ValueError("give either value/op/other or a list of conditions")
        return self

    def holds(self) -> bool:
        conditions = self.conditions or [
            Condition(value=self.value, op=self.op or "", other=self.other)
        ]
        results = [c.holds() for c in conditions]
        return all(results) if self.match == "all" else any(results)


class Logic(Action):
    """A logic step: decided in-process, nothing outside changes."""

    side_effects = False
    local = True


@action
class ContinueIf(Logic):
    app, name, Params = "logic", "continue_if", ConditionParams

    async def run(self, ctx: Context, params: Any) -> Any:
        if params.holds():
            return {"passed": True}
        return Directed({"passed": False}, SkipRest())


class BranchPath(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    condition: ConditionParams = Field(..., alias="if")
    steps: list[dict[str, Any]] = Field(default_factory=list)


class BranchParams(Params):
    paths: list[BranchPath] = Field(..., min_length=1)
    default: list[dict[str, Any]] = Field(default_factory=list)


@action
class Branch(Logic):
    """The first path whose condition holds, else the default path."""

    app, name, Params = "logic", "branch", BranchParams

    @classmethod
    def render(cls, params: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
        """Only the conditions: a path's own steps are rendered when they run."""
        rendered = dict(params)
        rendered["paths"] = [
            {**p, "if": render(p.get("if", {}), context)} for p in params.get("paths") or []
        ]
        return rendered

    @classmethod
    def nested_steps(cls, params: dict[str, Any]) -> list[tuple[tuple[str | int, ...], Any]]:
        nested: list[tuple[tuple[str | int, ...], Any]] = []
        for i, path in enumerate(_list(params.get("paths"))):
            if isinstance(path, dict):
                steps = _list(path.get("steps"))
                nested += [(("paths", i, "steps", j), s) for j, s in enumerate(steps)]
        nested += [(("default", j), s) for j, s in enumerate(_list(params.get("default")))]
        return nested

    async def run(self, ctx: Context, params: Any) -> Any:
        for path in params.paths:
            if path.condition.holds():
                return Directed({"path": path.name}, InsertSteps(tuple(path.steps)))
        return Directed({"path": "default"}, InsertSteps(tuple(params.default)))


def _list(value: Any) -> list[Any]:
    """A list as written, else nothing (the params' own check reports what is wrong)."""
    return value if isinstance(value, list) else []


UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


class DelayForParams(Params):
    amount: float = Field(..., ge=0)
    unit: Literal["seconds", "minutes", "hours", "days"] = "minutes"


class DelayUntilParams(Params):
    until: datetime


def _wait_until(until: datetime) -> Directed:
    return Directed({"until": format_instant(until)}, WakeAt(until))


@action
class DelayFor(Logic):
    app, name, Params = "logic", "delay_for", DelayForParams

    async def run(self, ctx: Context, params: Any) -> Any:
        return _wait_until(ctx.clock.now() + timedelta(seconds=params.amount * UNITS[params.unit]))


@action
class DelayUntil(Logic):
    app, name, Params = "logic", "delay_until", DelayUntilParams

    async def run(self, ctx: Context, params: Any) -> Any:
        until = params.until if params.until.tzinfo else params.until.replace(tzinfo=UTC)
        return _wait_until(until.astimezone(UTC))
