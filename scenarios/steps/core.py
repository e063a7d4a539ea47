"""Steps and expectations every stack has: any API call, the clock, faults and seeds on any
service, the engine's workflow lifecycle, and runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator

from ..driver import DriverError
from . import (
    EXPECTATIONS,
    REQUEST_AUTH,
    Outcome,
    StepContext,
    check,
    step,
    workflow_alias,
    workflow_key,
)
from .base import Counted, Duration, Strict, count_ok, seconds, subset, want_count

if TYPE_CHECKING:
    from ..driver import StackDriver


def known_service(name: str) -> str:
    """The engine or a registered fake."""
    from careflow.mocks import VENDORS

    if name != "engine" and name not in VENDORS:
        raise ValueError(f"unknown service {name!r}: one of engine, {', '.join(VENDORS)}")
    return name


# steps -------------------------------------------------------------------------------------


@step("request")
def request(s: StepContext, p: dict[str, Any]) -> Any:
    """Any API call: ``service``, ``method``, ``path``, ``json``/``data``/``params``/``headers``,
    ``auth`` (a vendor's demo credentials), ``status`` (what it must answer)."""
    d = s.driver
    kwargs: dict[str, Any] = {k: p[k] for k in ("json", "data", "params", "headers") if k in p}
    auth = p.get("auth")
    if auth is not None:
        if auth not in REQUEST_AUTH:
            raise DriverError(f"unknown request auth {auth!r}: one of {', '.join(REQUEST_AUTH)}")
        REQUEST_AUTH[auth](d, kwargs)
    method = p.get("method", "GET")
    response = d.call(p["service"], method, p["path"], correlation_id=s.cid, **kwargs)
    if "status" in p and response.status_code != p["status"]:
        raise DriverError(
            f"{method} {p['service']}{p['path']} answered "
            f"{response.status_code}, expected {p['status']}: {response.text[:300]}"
        )
    return {
        "status": response.status_code,
        "body": response.json() if response.content else None,
    }


@step("advance", params=Duration)
def advance(s: StepContext, p: str | float) -> None:
    s.driver.move_clock(advance_seconds=seconds(p))


@step("set_clock", params=str)
def set_clock(s: StepContext, p: str) -> None:
    s.driver.move_clock(set=p)


@step("run_scheduler", params=bool)
def run_scheduler(s: StepContext, _p: bool) -> None:
    """Release what is due now (schedules, polls) without moving the clock."""
    s.driver.move_clock(advance_seconds=0)


@step("fault")
def fault(s: StepContext, p: dict[str, Any]) -> None:
    """A fault on ``service`` (the rest of the value is the admin API's fault spec)."""
    p = dict(p)
    s.driver.admin(p.pop("service"), "POST", "/faults", json=p)


@step("clear_faults", params=str)
def clear_faults(s: StepContext, service: str) -> None:
    s.driver.admin(service, "DELETE", "/faults")


@step("seed")
def seed(s: StepContext, p: dict[str, Any]) -> None:
    s.driver.admin(p["service"], "POST", "/seed", json=p["body"])
    s.driver.settle()


@step("activate", params=str, workflow=workflow_alias)
def activate(s: StepContext, alias: str) -> None:
    s.driver.workflow_action(s.workflow_id(alias), "activate")


@step("deactivate", params=str, workflow=workflow_alias)
def deactivate(s: StepContext, alias: str) -> None:
    s.driver.workflow_action(s.workflow_id(alias), "deactivate")


@step("delete_workflow", params=str, workflow=workflow_alias)
def delete_workflow(s: StepContext, alias: str) -> None:
    s.driver.engine("DELETE", f"/api/workflows/{s.workflow_id(alias)}", expect=(200, 204))


@step("update_workflow", workflow=workflow_key)
def update_workflow(s: StepContext, p: dict[str, Any]) -> None:
    s.driver.engine(
        "PUT",
        f"/api/workflows/{s.workflow_id(p['workflow'])}",
        json=p["definition"],
        expect=200,
    )


@step("retry_run", workflow=workflow_key)
def retry_run(s: StepContext, p: dict[str, Any]) -> Any:
    """Retry the newest run of ``workflow`` with ``status`` (default Failed)."""
    status = p.get("status", "Failed")
    runs = s.driver.runs(s.workflow_id(p["workflow"]), status)
    if not runs:
        raise DriverError(f"no {status} run to retry")
    return s.driver.engine("POST", f"/api/runs/{runs[0]['id']}/retry", expect=201).json()


@step("expect", params=EXPECTATIONS, raw=True)
def expect(s: StepContext, expectations: list[Any]) -> None:
    """Inline expectations, checked where the step is."""
    for i, exp in enumerate(expectations):
        s.expect(exp, f"expectation {i + 1} ({exp.kind})")


# expectations ------------------------------------------------------------------------------

RunStatus = Literal["Running", "Completed", "Failed", "Canceled", "Terminated"]


class RunExpect(Counted):
    workflow: str = Field(..., description="A workflow alias from 'workflows'")
    status: RunStatus = "Completed"
    step: str | None = Field(None, description="Only runs where this step ran ...")
    output: dict[str, Any] | None = Field(None, description="... with at least this output")


@check("run", model=RunExpect)
def run(d: StackDriver, p: dict[str, Any], ctx: dict[str, Any]) -> Outcome:
    workflow_id = ctx["workflows"][p["workflow"]]
    runs = d.runs(workflow_id)
    status = p.get("status", "Completed")
    matching = [r for r in runs if r["status"] == status]
    if "step" in p:
        matching = [
            r
            for r in matching
            if any(
                s["id"] == p["step"] and subset(p.get("output", {}), s.get("output") or {})
                for s in r.get("steps", [])
            )
        ]
    return Outcome(
        count_ok(p, len(matching)),
        f"{want_count(p)} run(s) of {p['workflow']!r} with status {status}",
        [
            {
                "id": r["id"],
                "status": r["status"],
                "steps": [(s["id"], s["status"], s.get("error")) for s in r.get("steps", [])],
            }
            for r in runs[:5]
        ],
    )


class TriggerTestExpect(Counted):
    workflow: str


@check("trigger_test", model=TriggerTestExpect)
def trigger_test(d: StackDriver, p: dict[str, Any], ctx: dict[str, Any]) -> Outcome:
    """The sample records the engine's "test trigger" returns (any trigger app)."""
    workflow_id = ctx["workflows"][p["workflow"]]
    response = d.engine("POST", f"/api/workflows/{workflow_id}/test-trigger", expect=200)
    items = response.json()["items"]
    return Outcome(count_ok(p, len(items)), f"{want_count(p)} sample record(s)", len(items))


class HttpExpect(Strict):
    service: str
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    path: str
    json_: Any = Field(None, alias="json")
    params: dict[str, Any] | None = None
    status: int = Field(200, ge=100, le=599)
    body: Any = None

    @field_validator("service")
    @classmethod
    def _known(cls, value: str) -> str:
        return known_service(value)


@check("http", model=HttpExpect)
def http(d: StackDriver, p: dict[str, Any], _ctx: dict[str, Any]) -> Outcome:
    response = d.call(
        p["service"], p.get("method", "GET"), p["path"], json=p.get("json"), params=p.get("params")
    )
    body = response.json() if response.content else None
    ok = response.status_code == p.get("status", 200)
    if ok and "body" in p:
        ok = isinstance(body, dict) and subset(p["body"], body)
    return Outcome(
        ok,
        {"status": p.get("status", 200), "body": p.get("body")},
        {"status": response.status_code, "body": body},
    )
