"""The scenario file format: YAML, validated with errors that point at the file, step and field.

A scenario says which authentications and workflows to install in the engine, a sequence of
steps (vendor actions, any API call, clock moves, faults, workflow lifecycle) and expectations
that must hold "eventually, within N virtual minutes". See README "Scenarios" for an example.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

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


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class AuthSpec(Strict):
    name: str
    app: Literal["whatconverts", "caspio", "ours", "http"]
    key: Literal["live", "test", "profile", "master"] | None = Field(
        None, description="Which of the stack's demo keys (ours: live/test; whatconverts)."
    )
    credentials: dict[str, Any] = Field(default_factory=dict)


class WorkflowSpec(Strict):
    id: str = Field(..., description="Alias used by steps and expectations")
    activate: bool = True
    definition: dict[str, Any] | None = None
    file: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> WorkflowSpec:
        if (self.definition is None) == (self.file is None):
            raise ValueError("give exactly one of 'definition' (inline) or 'file'")
        return self


RunStatus = Literal["Running", "Completed", "Failed", "Canceled", "Terminated"]
Mode = Literal["live", "test"]


M = TypeVar("M", bound=BaseModel)


def _not_both(model: M, first: str, second: str) -> M:
    if getattr(model, first) is not None and getattr(model, second) is not None:
        raise ValueError(f"give '{first}' or '{second}', not both")
    return model


class Counted(Strict):
    """``count: n`` (exactly) or ``at_least: n`` (default: at least 1)."""

    count: int | None = Field(None, ge=0)
    at_least: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _one_count(self) -> Counted:
        return _not_both(self, "count", "at_least")


class RunExpect(Counted):
    workflow: str = Field(..., description="A workflow alias from 'workflows'")
    status: RunStatus = "Completed"
    step: str | None = Field(None, description="Only runs where this step ran ...")
    output: dict[str, Any] | None = Field(None, description="... with at least this output")


class CaspioRowExpect(Strict):
    table: str
    where: str | None = None
    values: dict[str, Any] = Field(default_factory=dict)


class CaspioRowsExpect(Counted):
    table: str
    where: str | None = None


class CaspioWebhooksExpect(Counted):
    name: str | None = None
    name_contains: str | None = None


class DispatchedExpect(Counted):
    event: str
    destination: str | None = Field(None, description="Part of the destination's name")


class NotDispatchedExpect(Strict):
    event: str | None = None
    mode: Mode | None = None


class EventRecordedExpect(Counted):
    event: str
    mode: Mode | None = None


class MeterExpect(Strict):
    rose_by: int | None = Field(None, ge=0)
    rose_at_least: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _one_bound(self) -> MeterExpect:
        return _not_both(self, "rose_by", "rose_at_least")


class LeadExpect(Strict):
    id: int | str = Field(..., description="A lead id, or a template such as {{ lead.lead_id }}")
    fields: dict[str, Any] = Field(default_factory=dict)


class TriggerTestExpect(Counted):
    workflow: str


class HttpExpect(Strict):
    service: Literal["engine", "whatconverts", "caspio", "ours"]
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    path: str
    json_: Any = Field(None, alias="json")
    params: dict[str, Any] | None = None
    status: int = Field(200, ge=100, le=599)
    body: Any = None


class Expectation(Strict):
    """One thing that must hold. Exactly one kind key is set; each kind's keys are checked, so a
    misspelt key is an error at load time, never a check that silently passes."""

    run: RunExpect | None = None
    caspio_row: CaspioRowExpect | None = None
    caspio_rows: CaspioRowsExpect | None = None
    caspio_webhooks: CaspioWebhooksExpect | None = None
    dispatched: DispatchedExpect | None = None
    not_dispatched: NotDispatchedExpect | None = None
    event_recorded: EventRecordedExpect | None = None
    meter: MeterExpect | None = None
    lead: LeadExpect | None = None
    trigger_test: TriggerTestExpect | None = None
    http: HttpExpect | None = None
    within: str | float = Field(0, description="Eventually, within this much virtual time")

    @model_validator(mode="after")
    def _one_kind(self) -> Expectation:
        kinds = [k for k in KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(f"an expectation needs exactly one of {', '.join(KINDS)}")
        seconds(self.within)
        return self

    @property
    def kind(self) -> str:
        return next(k for k in KINDS if getattr(self, k) is not None)

    @property
    def params(self) -> dict[str, Any]:
        """The kind's keys as written (defaults left to the check)."""
        model: Strict = getattr(self, self.kind)
        return model.model_dump(exclude_unset=True, by_alias=True)

    @property
    def workflow(self) -> str | None:
        return getattr(getattr(self, self.kind), "workflow", None)


KINDS = (
    "run",
    "caspio_row",
    "caspio_rows",
    "caspio_webhooks",
    "dispatched",
    "not_dispatched",
    "event_recorded",
    "meter",
    "lead",
    "trigger_test",
    "http",
)

ACTIONS = (
    "create_lead",
    "update_lead",
    "insert_record",
    "update_records",
    "delete_records",
    "track",
    "identify",
    "request",
    "advance",
    "set_clock",
    "fault",
    "clear_faults",
    "seed",
    "activate",
    "deactivate",
    "delete_workflow",
    "update_workflow",
    "delete_caspio_webhook",
    "delete_caspio_profile",
    "cleanup_orphans",
    "retry_run",
    "run_scheduler",
    "expect",
)


class Step(Strict):
    """One action; exactly one action key is set. ``as`` names its result for later templates."""

    create_lead: dict[str, Any] | None = None
    update_lead: dict[str, Any] | None = None
    insert_record: dict[str, Any] | None = None
    update_records: dict[str, Any] | None = None
    delete_records: dict[str, Any] | None = None
    track: dict[str, Any] | None = None
    identify: dict[str, Any] | None = None
    request: dict[str, Any] | None = None
    advance: str | float | None = None
    set_clock: str | None = None
    fault: dict[str, Any] | None = None
    clear_faults: str | None = None
    seed: dict[str, Any] | None = None
    activate: str | None = None
    deactivate: str | None = None
    delete_workflow: str | None = None
    update_workflow: dict[str, Any] | None = None
    delete_caspio_webhook: dict[str, Any] | None = None
    delete_caspio_profile: dict[str, Any] | None = None
    cleanup_orphans: dict[str, Any] | None = None
    retry_run: dict[str, Any] | None = None
    run_scheduler: bool | None = None
    expect: list[Expectation] | None = None
    as_: str | None = Field(None, alias="as")
    note: str | None = None

    @model_validator(mode="after")
    def _one_action(self) -> Step:
        actions = [a for a in ACTIONS if getattr(self, a) is not None]
        if len(actions) != 1:
            raise ValueError(f"a step needs exactly one of {', '.join(ACTIONS)}")
        if self.advance is not None:
            seconds(self.advance)
        return self

    @property
    def action(self) -> str:
        return next(a for a in ACTIONS if getattr(self, a) is not None)

    @property
    def params(self) -> Any:
        return getattr(self, self.action)


class ClockSpec(Strict):
    set: str | None = None
    frozen: bool = True


class Scenario(Strict):
    name: str
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    seed: int = 0
    clock: ClockSpec = Field(default_factory=ClockSpec)
    authentications: list[AuthSpec] = Field(default_factory=list)
    workflows: list[WorkflowSpec] = Field(default_factory=list)
    steps: list[Step] = Field(default_factory=list)
    expect: list[Expectation] = Field(default_factory=list)
    path: str | None = Field(None, exclude=True)

    @field_validator("workflows")
    @classmethod
    def _unique(cls, value: list[WorkflowSpec]) -> list[WorkflowSpec]:
        ids = [w.id for w in value]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise ValueError(f"workflow ids must be unique: {sorted(dupes)}")
        return value

    @model_validator(mode="after")
    def _known_workflows(self) -> Scenario:
        """Every workflow a step or expectation names is one this scenario installs."""
        known = {w.id for w in self.workflows}
        used: list[tuple[str, str]] = []
        for index, step in enumerate(self.steps, 1):
            where = f"step {index} ({step.action})"
            if step.action in ("activate", "deactivate", "delete_workflow"):
                used.append((where, step.params))
            elif step.action in ("update_workflow", "retry_run"):
                used.append((where, step.params.get("workflow", "")))
            for exp in step.expect or []:
                if exp.workflow is not None:
                    used.append((f"{where}, {exp.kind}", exp.workflow))
        for index, exp in enumerate(self.expect, 1):
            if exp.workflow is not None:
                used.append((f"expect {index} ({exp.kind})", exp.workflow))
        unknown = [f"{where}: {alias!r}" for where, alias in used if alias not in known]
        if unknown:
            listed = ", ".join(sorted(known)) or "none"
            raise ValueError(
                f"unknown workflow alias: {'; '.join(unknown)} (this scenario installs: {listed})"
            )
        return self


class ScenarioError(ValueError):
    """A scenario file that cannot be loaded; the message names file, location and field."""


def _line_of(text: str, loc: tuple[Any, ...]) -> int | None:
    """Best-effort line number of a pydantic error location in the YAML source."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == part), None)
            if match is None:
                break
            line, node = match.start_mark.line + 1, match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: a scenario is a mapping with at least 'name'")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            where = ".".join(str(p) for p in loc) or "(top)"
            line = _line_of(text, loc)
            at = f"line {line}, " if line else ""
            lines.append(f"  {at}{where}: {error['msg']}")
        raise ScenarioError(f"{source}: invalid scenario\n" + "\n".join(lines)) from None
    scenario.path = source
    return scenario


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    return parse_scenario(path.read_text(), str(path))


def builtin_dir() -> Path:
    return Path(__file__).parent / "builtin"


def builtin_scenarios() -> list[Path]:
    return sorted(builtin_dir().glob("*.yaml"))
