"""The scenario file format: YAML, validated with errors that point at the file, step and field.

A scenario says which authentications and workflows to install in the engine, a sequence of
steps (vendor actions, any API call, clock moves, faults, workflow lifecycle) and expectations
that must hold "eventually, within N virtual minutes". See README "Scenarios" for an example.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

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


class Expectation(Strict):
    """One thing that must hold. Exactly one kind key is set."""

    run: dict[str, Any] | None = None
    caspio_row: dict[str, Any] | None = None
    caspio_rows: dict[str, Any] | None = None
    caspio_webhooks: dict[str, Any] | None = None
    dispatched: dict[str, Any] | None = None
    not_dispatched: dict[str, Any] | None = None
    event_recorded: dict[str, Any] | None = None
    meter: dict[str, Any] | None = None
    lead: dict[str, Any] | None = None
    trigger_test: dict[str, Any] | None = None
    http: dict[str, Any] | None = None
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
        return getattr(self, self.kind)


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
