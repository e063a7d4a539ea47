"""The vocabulary step and expectation modules share: strict parameter models, durations,
counts (``count`` / ``at_least``) and the subset match expectations compare with."""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)?\s*$")
UNITS = {"ms": 0.001, "s": 1, None: 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def seconds(value: str | float | int) -> float:
    """``90``, ``"90s"``, ``"5m"``, ``"2h"``, ``"1d"`` → seconds."""
    if isinstance(value, int | float):
        return float(value)
    match = DURATION.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a duration (try 30s, 5m, 2h, 1d)")
    return float(match.group(1)) * UNITS[match.group(2)]


def _duration(value: str | float) -> str | float:
    seconds(value)
    return value


# A duration as written (``90``, ``"5m"``); checked when the scenario is loaded.
Duration = Annotated[str | float, AfterValidator(_duration)]


class Strict(BaseModel):
    """Unknown keys are errors: a misspelt key fails the load, never a check that passes."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


M = TypeVar("M", bound=BaseModel)


def not_both(model: M, first: str, second: str) -> M:
    if getattr(model, first) is not None and getattr(model, second) is not None:
        raise ValueError(f"give '{first}' or '{second}', not both")
    return model


class Counted(Strict):
    """``count: n`` (exactly) or ``at_least: n`` (default: at least 1)."""

    count: int | None = Field(None, ge=0)
    at_least: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _one_count(self) -> Counted:
        return not_both(self, "count", "at_least")


def count_ok(params: dict[str, Any], n: int) -> bool:
    if "count" in params:
        return n == params["count"]
    if "at_least" in params:
        return n >= params["at_least"]
    return n >= 1


def want_count(params: dict[str, Any]) -> str:
    if "count" in params:
        return f"exactly {params['count']}"
    return f"at least {params.get('at_least', 1)}"


def subset(expected: dict[str, Any], actual: dict[str, Any]) -> bool:
    """Every expected key has the same value in ``actual`` (numbers compared as numbers)."""
    for key, want in expected.items():
        got = actual.get(key)
        if isinstance(want, dict) and isinstance(got, dict):
            if not subset(want, got):
                return False
        elif _norm(want) != _norm(got):
            return False
    return True


def _norm(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value
