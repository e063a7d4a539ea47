"""Steps steer their run with directives (skip the rest, insert steps, wake at an instant); the
executor follows them from any action and knows none by name."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pytest

from careflow.engine.connectors import (
    ACTIONS,
    Action,
    Context,
    Directed,
    InsertSteps,
    Params,
    SkipRest,
    WakeAt,
    action,
)
from careflow.engine.connectors.base import validate_params
from careflow.engine.connectors.logic import Branch, ContinueIf, DelayFor, DelayUntil
from careflow.engine.model import WorkflowInvalid, load_workflow
from careflow.mocks.kernel import VirtualClock

from .conftest import http_step


class SteerParams(Params):
    then: Literal["skip", "wake", "insert", "nothing"]
    url: str = "http://127.0.0.1/inserted"


@pytest.fixture
def steer():
    """A throwaway action outside ``logic`` that returns each directive."""

    @action
    class Steer(Action):
        app, name, Params = "steer_test", "steer", SteerParams

        async def run(self, ctx: Context, params: Any) -> Any:
            out = {"then": params.then}
            if params.then == "skip":
                return Directed(out, SkipRest())
            if params.then == "wake":
                return Directed(out, WakeAt(ctx.clock.now() + timedelta(minutes=30)))
            if params.then == "insert":
                return Directed(out, InsertSteps((http_step("inserted", url=params.url),)))
            return out

    yield "steer_test"
    del ACTIONS[("steer_test", "steer")]


def _steer(then: str, **params: Any) -> dict[str, Any]:
    return {
        "id": "steer",
        "app": "steer_test",
        "action": "steer",
        "params": {"then": then, **params},
    }


def test_skip_rest_from_any_action(h, steer):
    wf = h.workflow([_steer("skip"), http_step()])
    h.fire(wf, {})
    run = h.last_run(wf)
    assert run["status"] == "Completed" and h.target.calls == []
    assert [s["status"] for s in run["steps"]] == ["Completed", "Skipped"]
    assert run["steps"][0]["output"] == {"then": "skip"}


def test_wake_at_from_any_action(h, steer):
    wf = h.workflow([_steer("wake"), http_step()])
    h.fire(wf, {})
    run = h.last_run(wf)
    assert run["status"] == "Running" and run["wake_at"] == "2026-03-02T09:30:00Z"
    h.advance(30 * 60 - 1)
    assert h.target.calls == []
    h.advance(1)
    assert len(h.target.calls) == 1 and h.last_run(wf)["status"] == "Completed"


def test_inserted_steps_run_next_and_show_on_the_run(h, steer):
    wf = h.workflow(
        [_steer("insert", url="http://127.0.0.1/first"), http_step(url="http://127.0.0.1/last")]
    )
    h.fire(wf, {})
    run = h.last_run(wf)
    assert [c["path"] for c in h.target.calls] == ["/first", "/last"]
    assert [(s["id"], s["status"]) for s in run["steps"]] == [
        ("steer", "Completed"),
        ("inserted", "Completed"),
        ("call", "Completed"),
    ]


def test_a_plain_output_directs_nothing(h, steer):
    wf = h.workflow([_steer("nothing"), http_step()])
    h.fire(wf, {})
    assert h.last_run(wf)["status"] == "Completed" and len(h.target.calls) == 1


def _run(
    action_cls: type[Action], params: dict[str, Any], clock: VirtualClock | None = None
) -> Any:
    ctx = Context(http=None, clock=clock or VirtualClock(frozen=True), workflow_id="wf")  # type: ignore[arg-type]
    return asyncio.run(action_cls().run(ctx, validate_params(action_cls.Params, params)))


def test_logic_steps_return_their_directives():
    assert _run(ContinueIf, {"value": 2, "op": "equals", "other": 2}) == {"passed": True}
    assert _run(ContinueIf, {"value": 2, "op": "equals", "other": 3}) == Directed(
        {"passed": False}, SkipRest()
    )
    clock = VirtualClock("2026-03-02T09:00:00Z", frozen=True)
    assert _run(DelayFor, {"amount": 2, "unit": "hours"}, clock) == Directed(
        {"until": "2026-03-02T11:00:00Z"}, WakeAt(datetime(2026, 3, 2, 11, tzinfo=UTC))
    )
    assert _run(DelayUntil, {"until": "2026-03-05T08:00:00+01:00"}) == Directed(
        {"until": "2026-03-05T07:00:00Z"}, WakeAt(datetime(2026, 3, 5, 7, tzinfo=UTC))
    )
    later = {
        "id": "later",
        "app": "http",
        "action": "request",
        "params": {"url": "{{ trigger.u }}"},
    }
    paths = {
        "paths": [
            {"name": "no", "if": {"value": 1, "op": "equals", "other": 2}, "steps": []},
            {"name": "yes", "if": {"value": 1, "op": "equals", "other": 1}, "steps": [later]},
        ],
        "default": [],
    }
    assert _run(Branch, paths) == Directed({"path": "yes"}, InsertSteps((later,)))
    paths["paths"][1]["if"]["other"] = 3
    assert _run(Branch, paths) == Directed({"path": "default"}, InsertSteps(()))


def test_a_branch_renders_its_conditions_and_leaves_its_steps_to_their_turn():
    later = {"id": "later", "app": "http", "action": "request", "params": {"url": "{{ steps.x }}"}}
    params = {
        "paths": [
            {"name": "p", "if": {"value": "{{ trigger.v }}", "op": "is_true"}, "steps": [later]}
        ]
    }
    rendered = Branch.render(params, {"trigger": {"v": True}, "steps": {}})
    assert rendered["paths"][0]["if"]["value"] is True
    assert rendered["paths"][0]["steps"] == [later]


@pytest.mark.parametrize("nested", [5, "x", {"a": 1}, [5]])
def test_malformed_nested_steps_are_reported_not_a_crash(nested):
    workflow = {
        "name": "w",
        "trigger": {"app": "webhook"},
        "steps": [
            {
                "id": "route",
                "app": "logic",
                "action": "branch",
                "params": {
                    "paths": [{"name": "p", "if": {"value": 1, "op": "is_true"}, "steps": nested}],
                    "default": nested,
                },
            }
        ],
    }
    with pytest.raises(WorkflowInvalid) as caught:
        load_workflow(workflow)
    assert all("paths" in p["loc"] or "default" in p["loc"] for p in caught.value.problems)
