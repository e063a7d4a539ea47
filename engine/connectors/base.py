"""The connector interface. One module per app registers its actions and triggers here.

A connector reaches its vendor only through ``Context.http`` (an injected ``httpx.AsyncClient``:
ASGI transport in-process, a real one otherwise) and the base URL in its authentication, so the
same workflow runs against the fakes or the real vendors.

Lifecycle the engine drives:
- save:      ``Action.check(params)`` / ``Trigger.check(params)`` on the *unrendered* params
             (keys, required fields, literal values) → ``ConfigProblem``s, before anything is sent;
- activate:  ``Trigger.activate(ctx, params)`` (e.g. create a Caspio webhook, start a cursor);
             ``ctx.state`` is the trigger's durable state, saved by the engine afterwards;
- events:    ``Trigger.poll`` (kind "poll", every ``poll_seconds`` of the virtual clock),
             ``Trigger.receive`` (kind "webhook": a POST to ``{engine}/hooks/{workflow_id}``),
             ``Trigger.next_fire`` (kind "schedule"); each record starts one run, deduplicated by
             ``Trigger.dedup_key(record)``;
- test:      ``Trigger.sample(ctx, params)`` for ``/test-trigger``;
- run:       ``Action.run(ctx, params)`` with params rendered (``Action.render``) and validated
             against ``Params``; raise ``StepError`` (retryable or not, with ``retry_after``) on
             failure; records the action reports as ``written`` never trigger the same workflow
             again. A step that steers its run returns ``Directed(output, directive)``: the
             executor interprets ``SkipRest``, ``InsertSteps`` and ``WakeAt`` and never looks
             at an action's name;
- deactivate / delete: ``Trigger.deactivate`` / ``Trigger.delete``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from ..clock import Clock
from ..templating import has_template, render


class StepError(Exception):
    """A failed step. Retryable errors are retried (up to 5 times) with backoff.

    ``retry_after`` is a wait in seconds or an instant (an HTTP-date ``Retry-After``)."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = True,
        retry_after: float | datetime | None = None,
        status: int | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status
        self.body = body


@dataclass
class ConfigProblem:
    """A configuration error found when a workflow is saved: which field, and why.

    ``path`` locates a nested value (e.g. ``("paths", 0, "if", "op")``; ``()`` for the params as
    a whole); without it the problem is about the top-level key ``field``."""

    field: str
    message: str
    path: tuple[str | int, ...] | None = None

    def loc(self) -> tuple[str | int, ...]:
        return (self.field,) if self.path is None else self.path


@dataclass(frozen=True)
class SkipRest:
    """Every later step of the run is Skipped (Continue if, when its condition fails)."""


@dataclass(frozen=True)
class InsertSteps:
    """These step definitions (unrendered) run next, before the rest (Branch: the chosen path)."""

    steps: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class WakeAt:
    """The run waits until this instant of the engine's clock (Delay for, Delay until)."""

    until: datetime


Directive = SkipRest | InsertSteps | WakeAt


@dataclass(frozen=True)
class Directed:
    """What an action returns to steer its run: its output, and the directive to follow."""

    output: Any
    then: Directive


def directed(result: Any) -> tuple[Any, Directive | None]:
    """(output, directive) of what ``Action.run`` returned."""
    return (result.output, result.then) if isinstance(result, Directed) else (result, None)


@dataclass
class Context:
    """What a connector gets for one call."""

    http: httpx.AsyncClient
    clock: Clock
    workflow_id: str
    credentials: dict[str, Any] = field(default_factory=dict)
    auth_name: str | None = None
    run_id: str | None = None
    step_id: str | None = None
    correlation_id: str | None = None
    engine_url: str = "http://127.0.0.1:8400"
    workflow_name: str = ""
    # Whether steps may call hosts that are not loopback (``careflow up --allow-remote``).
    allow_remote: bool = False
    # Durable per-workflow trigger state (cursors, webhook ids); the engine persists it.
    state: dict[str, Any] = field(default_factory=dict)
    # Counters shown on the step and the run, e.g. {"caspio_calls": 3}.
    usage: dict[str, int] = field(default_factory=dict)
    # Extra facts a step reports about itself, e.g. {"key": "test"} for Ours Privacy.
    notes: dict[str, Any] = field(default_factory=dict)

    def count(self, meter: str, n: int = 1) -> None:
        self.usage[meter] = self.usage.get(meter, 0) + n

    def headers(self) -> dict[str, str]:
        return {"X-Request-ID": self.correlation_id} if self.correlation_id else {}


class Params(BaseModel):
    """Base of every action/trigger parameter model: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")


def check_params(model: type[BaseModel], params: dict[str, Any]) -> list[ConfigProblem]:
    """Save-time check: unknown keys, missing required keys, and every plain (non-template) value
    against the model (an operator, a unit, a method, a number...). A value that is a template is
    checked at run time, once rendered."""
    problems: list[ConfigProblem] = []
    fields = model.model_fields
    names = {name: {name, info.alias} - {None} for name, info in fields.items()}
    known = set().union(*names.values()) if names else set()
    if model.model_config.get("extra") == "forbid":
        problems += [
            ConfigProblem(key, f"unknown field {key!r}; allowed: {', '.join(fields)}")
            for key in params
            if key not in known
        ]
    problems += [
        ConfigProblem(name, "field required")
        for name, info in fields.items()
        if info.is_required() and not names[name] & set(params)
    ]
    return problems + _value_problems(model, params)


def _value_problems(model: type[BaseModel], params: dict[str, Any]) -> list[ConfigProblem]:
    """Validation errors of the plain values; those that reach a template are left to run time."""
    try:
        model.model_validate(params)
    except ValidationError as exc:
        errors = exc.errors()
    else:
        return []
    problems = []
    for error in errors:
        loc = tuple(error["loc"])
        if len(loc) == 1 and error["type"] in ("missing", "extra_forbidden"):
            continue  # already reported by name above
        if _reaches_template(params, loc):
            continue
        message = error["msg"].removeprefix("Value error, ")
        problems.append(ConfigProblem(".".join(map(str, loc)), message, path=loc))
    return problems


def _reaches_template(params: Any, loc: tuple[Any, ...]) -> bool:
    """Whether the value at ``loc`` (or a container on the way to it) is or holds a template."""
    node = params
    for part in loc:
        if isinstance(node, str):
            break
        found = (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and part < len(node)
        )
        if found:  # else: a union tag or a missing key: stay on this node
            node = node[part]
    return node is not params and has_template(node)


def validate_params(model: type[BaseModel], params: dict[str, Any]) -> BaseModel:
    """Run-time validation of rendered params; a failure is a non-retryable step error."""
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        detail = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or '(params)'}: {e['msg']}" for e in exc.errors()
        )
        raise StepError(f"invalid parameters: {detail}", retryable=False) from exc


class Action:
    app: ClassVar[str]
    name: ClassVar[str]
    Params: ClassVar[type[BaseModel]] = Params
    # Whether the action changes the outside world (not re-run after a crash once recorded done).
    side_effects: ClassVar[bool] = True
    # Whether it only computes in-process (no I/O, nothing to watch while it runs): the engine
    # then skips recording it as started before it runs (running it again is harmless).
    local: ClassVar[bool] = False

    @classmethod
    def check(cls, params: dict[str, Any]) -> list[ConfigProblem]:
        return check_params(cls.Params, params)

    @classmethod
    def render(cls, params: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
        """The params with their templates rendered against the run's data (trigger, outputs)."""
        return render(params, context)

    @classmethod
    def nested_steps(cls, params: dict[str, Any]) -> list[tuple[tuple[str | int, ...], Any]]:
        """Step definitions nested in the (unrendered) params, each with its place in them, for
        save-time checks and the workflow's structure (e.g. a Branch's paths)."""
        return []

    async def run(self, ctx: Context, params: Any) -> Any:
        raise NotImplementedError

    def written(self, output: Any) -> list[dict[str, Any]]:
        """The vendor records this step's output says it wrote. A trigger of the same app skips
        them (by its ``dedup_key``), so a workflow never re-triggers itself with its own edit."""
        return []


class Trigger:
    app: ClassVar[str]
    event: ClassVar[str]
    kind: ClassVar[Literal["poll", "webhook", "schedule"]] = "webhook"
    Params: ClassVar[type[BaseModel]] = Params
    poll_seconds: ClassVar[float] = 60.0

    @classmethod
    def check(cls, params: dict[str, Any]) -> list[ConfigProblem]:
        return check_params(cls.Params, params)

    async def activate(self, ctx: Context, params: Any) -> None:
        return None

    async def deactivate(self, ctx: Context, params: Any) -> None:
        return None

    async def delete(self, ctx: Context, params: Any) -> None:
        await self.deactivate(ctx, params)

    async def poll(self, ctx: Context, params: Any) -> list[dict[str, Any]]:
        return []

    async def sample(self, ctx: Context, params: Any) -> list[dict[str, Any]]:
        return []

    def receive(
        self, ctx: Context, params: Any, body: Any, headers: dict[str, str]
    ) -> list[dict[str, Any]]:
        """Records carried by an incoming webhook (raise StepError(status=401) to refuse)."""
        return [body] if isinstance(body, dict) else list(body or [])

    def dedup_key(self, record: dict[str, Any]) -> str | None:
        """Identity of a record; a record seen before does not start a second run."""
        return None

    def next_fire(self, params: Any, after: datetime) -> datetime | None:
        return None

    def next_due(self, params: Any, now: datetime) -> datetime | None:
        """When the engine next calls on this trigger by itself: a poller every
        ``poll_seconds``, a schedule at its next fire, a webhook never."""
        if self.kind == "poll":
            return now + timedelta(seconds=self.poll_seconds)
        return self.next_fire(params, now)


ACTIONS: dict[tuple[str, str], type[Action]] = {}
TRIGGERS: dict[tuple[str, str], type[Trigger]] = {}


def action(cls: type[Action]) -> type[Action]:
    ACTIONS[(cls.app, cls.name)] = cls
    return cls


def trigger(cls: type[Trigger]) -> type[Trigger]:
    TRIGGERS[(cls.app, cls.event)] = cls
    return cls
