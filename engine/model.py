"""Workflows: one trigger and ordered steps (DESIGN.md "Workflow format"), validated on save.

Errors point at the step and field, with the YAML/JSON line when the source text is known.
Connector rules are checked here too, before anything is sent anywhere (e.g. Update Lead with a
fifth field is refused when the workflow is saved).
"""

from __future__ import annotations

import contextlib
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .connectors import ACTIONS, TRIGGERS

# Line numbers in problems are found from the YAML node tree, built (in pure Python) only for
# documents up to this size, so that validating a big one never holds the event loop for long.
LINES_LIMIT = 32 * 1024


class TriggerDef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    app: str
    event: str | None = None
    auth: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class StepDef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(..., pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    app: str
    action: str
    auth: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    name: str | None = None


class WorkflowDef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., min_length=1, max_length=200)
    description: str = ""
    trigger: TriggerDef
    steps: list[StepDef] = Field(..., min_length=1)

    @field_validator("steps")
    @classmethod
    def _unique_ids(cls, steps: list[StepDef]) -> list[StepDef]:
        seen: set[str] = set()
        for step in all_steps(steps):
            if step.id in seen:
                raise ValueError(f"step id {step.id!r} is used twice")
            seen.add(step.id)
        return steps

    def structure(self) -> list[str]:
        """What "structural change" compares: the ordered step ids (branches included)."""
        return [s.id for s in all_steps(self.steps)]


def nested_steps(step: StepDef) -> list[tuple[tuple[str | int, ...], Any]]:
    """The step definitions nested in a step's params (e.g. a Branch's paths), each with its
    place in them, as its action declares."""
    action = ACTIONS.get((step.app, step.action))
    return action.nested_steps(step.params) if action else []


def all_steps(steps: list[StepDef]) -> list[StepDef]:
    """Every step, including nested ones (malformed ones are reported by ``_check_step``)."""
    out: list[StepDef] = []
    for step in steps:
        out.append(step)
        for _where, inner in nested_steps(step):
            try:
                out += all_steps([StepDef.model_validate(inner)])
            except ValidationError:
                continue
    return out


class WorkflowInvalid(ValueError):
    def __init__(self, problems: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, p['loc']))}: {p['msg']}" for p in problems))
        self.problems = problems


def _line_of(node: Any, loc: tuple[Any, ...]) -> int | None:
    import yaml  # PyYAML loads with the first workflow document

    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == part), None)
            if match is None:
                break
            node, line = match, match.start_mark.line + 1
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def parse_text(text: str) -> tuple[Any, Any]:
    """(data, YAML node tree) of a YAML or JSON document (JSON is YAML)."""
    import yaml

    try:
        return yaml.safe_load(text), yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise WorkflowInvalid(
            [
                {
                    "loc": ["body"],
                    "line": mark.line + 1 if mark else None,
                    "msg": f"not YAML/JSON: {exc}",
                }
            ]
        ) from exc


def load_workflow(data: Any, text: str | None = None) -> WorkflowDef:
    """Validate a workflow definition; raise ``WorkflowInvalid`` listing every problem (with
    line numbers when ``text`` is given and at most ``LINES_LIMIT`` long: the YAML node tree is
    built only then, and only for an invalid workflow)."""
    nodes: list[Any] = []

    def node_of() -> Any:
        if not nodes:
            nodes.append(None)
            if text is not None and len(text) <= LINES_LIMIT:
                import yaml

                with contextlib.suppress(yaml.YAMLError):
                    nodes[0] = yaml.compose(text)
        return nodes[0]

    problems: list[dict[str, Any]] = []
    try:
        workflow = WorkflowDef.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            problems.append(
                {"loc": list(loc), "line": _line_of(node_of(), loc), "msg": error["msg"]}
            )
        raise WorkflowInvalid(problems) from None
    trig = workflow.trigger
    trigger_cls = TRIGGERS.get((trig.app, trig.event or ""))
    if trig.app == "webhook":
        # DESIGN.md: ``app: webhook`` needs no event; the posted JSON is the payload.
        if trig.event is not None:
            problems.append(
                {"loc": ["trigger", "event"], "msg": "app: webhook takes no event; remove it"}
            )
        problems += [
            {"loc": ["trigger", "params", key], "msg": "app: webhook takes no params"}
            for key in trig.params
        ]
    elif trigger_cls is None:
        known = sorted(f"{a}/{e}" for a, e in TRIGGERS)
        problems.append(
            {
                "loc": ["trigger"],
                "msg": f"unknown trigger {trig.app}/{trig.event}; "
                f"known: webhook, {', '.join(known)}",
            }
        )
    else:
        for p in trigger_cls.check(trig.params):
            problems.append({"loc": ["trigger", "params", *p.loc()], "msg": p.message})
    for index, step in enumerate(workflow.steps):
        problems += _check_step(step, ["steps", index])
    for problem in problems:
        problem.setdefault("line", _line_of(node_of(), tuple(problem["loc"])))
    if problems:
        raise WorkflowInvalid(problems)
    return workflow


def _check_step(step: StepDef, loc: list[Any]) -> list[dict[str, Any]]:
    action = ACTIONS.get((step.app, step.action))
    if action is None:
        known = sorted(f"{a}/{n}" for a, n in ACTIONS if a == step.app) or sorted(
            {a for a, _ in ACTIONS}
        )
        return [
            {
                "loc": [*loc, "action"],
                "msg": f"step {step.id!r}: unknown action "
                f"{step.app}/{step.action}; known: {', '.join(known)}",
            }
        ]
    problems = [
        {"loc": [*loc, "params", *p.loc()], "msg": f"step {step.id!r}: {p.message}"}
        for p in action.check(step.params)
    ]
    for place, inner in action.nested_steps(step.params):
        where = [*loc, "params", *place]
        try:
            problems += _check_step(StepDef.model_validate(inner), where)
        except ValidationError as exc:
            problems += [{"loc": [*where, *e["loc"]], "msg": str(e["msg"])} for e in exc.errors()]
    return problems
