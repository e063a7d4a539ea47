"""Scenario steps and expectations: registries filled by decorator, one module per vendor.

- ``core`` holds what every stack has: ``request``, clock moves, faults, seeds, the workflow
  lifecycle, inline ``expect``; the expectations ``run``, ``trigger_test`` and ``http``.
- ``<vendor>`` — one module per name in ``careflow.mocks.VENDORS``, when the vendor has one —
  holds that vendor's steps and expectations, the demo keys its authentications may pick
  (``key:``), how a ``request`` step authenticates to it (``auth:``) and the events
  ``careflow trigger`` can fire at a running stack (``TRIGGERS``, ``<vendor>.<event>``).

The runner dispatches through ``STEPS`` and ``CHECKS``; ``careflow.scenarios.format`` builds
the ``Step`` and ``Expectation`` models from them, so a misspelt step or key is a load error
naming the line; tests check the README's lists against them. A new vendor's module registers
with the decorators below and nothing else changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..driver import StackDriver

GENERIC = ("core",)  # step modules that belong to no vendor

# The ``params`` of the ``expect`` step: a list of expectations (the model format builds).
EXPECTATIONS = "list[Expectation]"


@dataclass
class Outcome:
    """What an expectation saw: did it hold, what was wanted, what was there."""

    ok: bool
    expected: Any
    actual: Any

    def __bool__(self) -> bool:
        return self.ok


@dataclass
class StepContext:
    """What a step works with: the driver, the scenario's template context (``workflows``,
    ``saved``, ``leads``, ``stack`` and every ``as:`` name) and the step's correlation id."""

    driver: StackDriver
    ctx: dict[str, Any]
    cid: str = ""
    # runs one expectation where the step is (the ``expect`` step): (expectation, label)
    expect: Callable[[Any, str], None] = field(default=lambda _exp, _label: None)

    def workflow_id(self, alias: str) -> Any:
        """The engine's id of a workflow the scenario installed under ``alias``."""
        return self.ctx["workflows"][alias]

    def touched_lead(self, lead_id: Any) -> None:
        """Remember that this step created or changed a lead: the timeline shows the runs a
        poll started for it under this step's correlation id."""
        self.ctx["leads"].setdefault(str(lead_id), []).append(self.cid)


StepFn = Callable[[StepContext, Any], Any]
TriggerFn = Callable[[StepContext, dict[str, Any]], dict[str, Any]]
CheckFn = Callable[["StackDriver", dict[str, Any], dict[str, Any]], Outcome]
Before = Callable[["StackDriver", dict[str, Any]], None]
Credentials = Callable[[dict[str, Any], "str | None"], dict[str, Any]]
RequestAuth = Callable[["StackDriver", dict[str, Any]], None]


@dataclass(frozen=True)
class StepDef:
    name: str
    run: StepFn  # returns what ``as:`` saves
    params: Any  # the type of the step's YAML value, validated at load
    workflow: Callable[[Any], str | None] | None  # the workflow alias the value names, if any
    raw: bool  # value passed unrendered; no correlation id, no settle, nothing saved
    module: str


@dataclass(frozen=True)
class CheckDef:
    kind: str
    run: CheckFn
    model: type  # a pydantic model of its keys (``Strict``: unknown keys refused)
    before: Before | None  # at setup, when a scenario uses this kind (a meter's start)
    module: str


@dataclass(frozen=True)
class KeysDef:
    app: str
    keys: tuple[str, ...]  # what ``key:`` may say for this app
    apply: Credentials  # (the stack's credentials for the app, key) → the authentication's


@dataclass(frozen=True)
class TriggerDef:
    name: str  # <vendor>.<event>, as ``careflow trigger`` takes it
    run: TriggerFn  # (context, --field overrides) → what was made, for the user to see
    help: str  # the function's docstring, first line
    module: str


STEPS: dict[str, StepDef] = {}
CHECKS: dict[str, CheckDef] = {}
KEYS: dict[str, KeysDef] = {}
REQUEST_AUTH: dict[str, RequestAuth] = {}
TRIGGERS: dict[str, TriggerDef] = {}


def _add(registry: dict[str, Any], what: str, name: str, value: Any) -> None:
    if name in registry:
        raise ValueError(f"{what} {name!r} is registered twice")
    registry[name] = value


def step(
    name: str,
    *,
    params: Any = dict[str, Any],
    workflow: Callable[[Any], str | None] | None = None,
    raw: bool = False,
) -> Callable[[StepFn], StepFn]:
    """Register a step: ``- name: value`` in a scenario runs ``fn(StepContext, value)``."""

    def register(fn: StepFn) -> StepFn:
        _add(STEPS, "step", name, StepDef(name, fn, params, workflow, raw, fn.__module__))
        return fn

    return register


def check(kind: str, *, model: type, before: Before | None = None) -> Callable[[CheckFn], CheckFn]:
    """Register an expectation kind: ``fn(driver, keys, ctx) -> Outcome``."""

    def register(fn: CheckFn) -> CheckFn:
        _add(CHECKS, "expectation", kind, CheckDef(kind, fn, model, before, fn.__module__))
        return fn

    return register


def credentials(app: str, *, keys: tuple[str, ...]) -> Callable[[Credentials], Credentials]:
    """Register how an authentication of ``app`` picks among the stack's demo keys."""

    def register(fn: Credentials) -> Credentials:
        _add(KEYS, "credentials of", app, KeysDef(app, keys, fn))
        return fn

    return register


def request_auth(name: str) -> Callable[[RequestAuth], RequestAuth]:
    """Register ``auth: name`` of the ``request`` step: ``fn(driver, kwargs)`` adds it."""

    def register(fn: RequestAuth) -> RequestAuth:
        _add(REQUEST_AUTH, "request auth", name, fn)
        return fn

    return register


def trigger(name: str) -> Callable[[TriggerFn], TriggerFn]:
    """Register an event ``careflow trigger NAME`` fires at a running stack with synthetic
    data: ``fn(StepContext, overrides)`` sends it (with the context's correlation id) and
    returns what it made; its docstring's first line describes it."""

    def register(fn: TriggerFn) -> TriggerFn:
        doc = (fn.__doc__ or "").strip().split("\n")[0]
        _add(TRIGGERS, "trigger", name, TriggerDef(name, fn, doc, fn.__module__))
        return fn

    return register


def workflow_alias(value: Any) -> str | None:
    """For ``step(workflow=...)``: the step's value is a workflow alias."""
    return value if isinstance(value, str) else None


def workflow_key(value: Any) -> str | None:
    """For ``step(workflow=...)``: the step's value has a ``workflow`` key."""
    return value.get("workflow", "") if isinstance(value, dict) else None


def modules() -> tuple[str, ...]:
    """The step modules to load: the generic ones, then one per registered vendor."""
    from careflow.mocks import VENDORS

    names = (*GENERIC, *VENDORS)
    return tuple(n for n in names if find_spec(f"{__name__}.{n}") is not None)


def load() -> None:
    """Import every step module (registering its steps); cheap once done."""
    for name in modules():
        import_module(f"{__name__}.{name}")


__all__ = [
    "CHECKS",
    "EXPECTATIONS",
    "KEYS",
    "REQUEST_AUTH",
    "STEPS",
    "TRIGGERS",
    "CheckDef",
    "Outcome",
    "StepContext",
    "StepDef",
    "TriggerDef",
    "check",
    "credentials",
    "load",
    "request_auth",
    "step",
    "trigger",
    "workflow_alias",
    "workflow_key",
]
