"""The scenario file format: YAML, validated with errors that point at the file, step and field.

A scenario says which authentications and workflows to install in the engine, a sequence of
steps (vendor actions, any API call, clock moves, faults, workflow lifecycle) and expectations
that must hold "eventually, within N virtual minutes". See README "Scenarios" for an example.
The steps and expectation kinds are those registered in ``careflow.scenarios.steps``; ``Step``
and ``Expectation`` have one field per registered name, typed as its module declares.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, create_model, field_validator, model_validator

from . import steps
from .steps import KEYS
from .steps.base import Strict, seconds

__all__ = [
    "ACTIONS",
    "KINDS",
    "Expectation",
    "Scenario",
    "ScenarioError",
    "Step",
    "builtin_scenarios",
    "load_scenario",
    "parse_scenario",
    "seconds",
]


class AuthSpec(Strict):
    name: str
    app: str = Field(..., description="A registered vendor, or http")
    key: str | None = Field(
        None, description="Which of the stack's demo keys (the app's step module lists them)."
    )
    credentials: dict[str, Any] = Field(default_factory=dict)

    @field_validator("app")
    @classmethod
    def _known_app(cls, value: str) -> str:
        from careflow.mocks import VENDORS

        if value != "http" and value not in VENDORS:
            raise ValueError(f"unknown app {value!r}: one of {', '.join(VENDORS)} or http")
        return value

    @model_validator(mode="after")
    def _known_key(self) -> AuthSpec:
        if self.key is not None:
            keys = KEYS[self.app].keys if self.app in KEYS else ()
            if self.key not in keys:
                takes = f"one of {', '.join(map(repr, keys))}" if keys else "no key"
                raise ValueError(f"key {self.key!r}: a {self.app} authentication takes {takes}")
        return self


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


# Steps and expectations: one optional field per registered name (careflow.scenarios.steps).
steps.load()
KINDS: tuple[str, ...] = tuple(steps.CHECKS)
ACTIONS: tuple[str, ...] = tuple(steps.STEPS)


class ExpectationBase(Strict):
    """One thing that must hold. Exactly one kind key is set; each kind's keys are checked, so a
    misspelt key is an error at load time, never a check that silently passes."""

    within: str | float = Field(0, description="Eventually, within this much virtual time")

    @model_validator(mode="after")
    def _one_kind(self) -> ExpectationBase:
        kinds = [k for k in KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(f"an expectation needs exactly one of {', '.join(KINDS)}")
        seconds(self.within)  # here, not on the field: the error names the expectation's line
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


Expectation: type[ExpectationBase] = create_model(  # type: ignore[call-overload]
    "Expectation",
    __base__=ExpectationBase,
    __module__=__name__,
    **{kind: (c.model | None, None) for kind, c in steps.CHECKS.items()},
)


class StepBase(Strict):
    """One action; exactly one action key is set. ``as`` names its result for later templates."""

    as_: str | None = Field(None, alias="as")
    note: str | None = None

    @model_validator(mode="after")
    def _one_action(self) -> StepBase:
        actions = [a for a in ACTIONS if getattr(self, a) is not None]
        if len(actions) != 1:
            raise ValueError(f"a step needs exactly one of {', '.join(ACTIONS)}")
        return self

    @property
    def action(self) -> str:
        return next(a for a in ACTIONS if getattr(self, a) is not None)

    @property
    def params(self) -> Any:
        return getattr(self, self.action)

    @property
    def workflow(self) -> str | None:
        """The workflow alias this step names, if it names one."""
        named = steps.STEPS[self.action].workflow
        return named(self.params) if named else None


def _step_type(definition: steps.StepDef) -> Any:
    return list[Expectation] if definition.params == steps.EXPECTATIONS else definition.params


Step: type[StepBase] = create_model(  # type: ignore[call-overload]
    "Step",
    __base__=StepBase,
    __module__=__name__,
    **{name: (_step_type(d) | None, None) for name, d in steps.STEPS.items()},
)


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
            if step.workflow is not None:
                used.append((where, step.workflow))
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
