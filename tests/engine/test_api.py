"""The engine's HTTP API as DESIGN.md pins it, through the in-process stack."""

import pytest

from careflow.scenarios import InProcessStack

WORKFLOW = """\
name: Booking to Ours
trigger: {app: webhook}
steps:
  - id: track
    app: ours
    action: track
    auth: ours-demo
    params: {event: appointment_booked, email: "{{ trigger.email }}"}
"""


@pytest.fixture(scope="module")
def stack():
    with InProcessStack() as s:
        yield s


@pytest.fixture
def api(stack):
    with stack.client("engine") as client:
        client.post("/__sandbox/reset")
        yield client


def test_authentication_never_returns_the_secret(api, stack):
    ours = stack.info()["ours"]
    created = api.post(
        "/api/authentications",
        json={
            "name": "ours-demo",
            "app": "ours",
            "credentials": {"url": ours["url"], "token": ours["token"]},
        },
    )
    assert created.status_code == 201
    assert set(created.json()) == {"id", "name", "app"}
    listed = api.get("/api/authentications").json()
    assert ours["token"] not in str(listed) and listed["items"][0]["name"] == "ours-demo"
    again = api.post(
        "/api/authentications", json={"name": "ours-demo", "app": "ours", "credentials": {}}
    )
    assert again.status_code == 409


def test_workflow_lifecycle_runs_and_audit(api, stack):
    ours = stack.info()["ours"]
    api.post(
        "/api/authentications",
        json={
            "name": "ours-demo",
            "app": "ours",
            "credentials": {"url": ours["url"], "token": ours["token"]},
        },
    )
    created = api.post(
        "/api/workflows", content=WORKFLOW, headers={"content-type": "application/yaml"}
    )
    assert created.status_code == 201
    wf = created.json()
    assert (wf["status"], wf["version"]) == ("draft", 1) and wf["name"] == "Booking to Ours"
    assert api.post(f"/hooks/{wf['id']}", json={}).status_code == 409  # not active yet
    assert api.post(f"/api/workflows/{wf['id']}/activate").json()["status"] == "active"
    hook = api.post(
        f"/hooks/{wf['id']}", json={"email": "pat@example.com"}, headers={"X-Request-ID": "corr-9"}
    )
    assert hook.status_code == 202 and hook.json()["accepted"] == 1
    stack.run(stack.settle())
    runs = api.get("/api/runs", params={"workflow_id": wf["id"]}).json()["items"]
    assert [r["status"] for r in runs] == ["Completed"]
    run = runs[0]
    assert run["correlation_id"] == "corr-9"
    assert run["steps"][0]["notes"] == {"key": "live"}
    assert set(run) >= {
        "id",
        "workflow_id",
        "status",
        "started_at",
        "ended_at",
        "retry_of",
        "steps",
    }
    assert set(run["steps"][0]) >= {"id", "status", "attempts", "input", "output", "error"}
    assert api.get(f"/api/runs/{run['id']}").json()["id"] == run["id"]
    assert api.post(f"/api/runs/{run['id']}/retry").status_code == 409  # not failed
    actions = [e["action"] for e in api.get("/api/audit").json()["items"]]
    assert actions[:3] == ["authentication.created", "workflow.created", "workflow.activated"]
    assert "run.completed" in actions
    assert api.post(f"/api/workflows/{wf['id']}/deactivate").json()["status"] == "inactive"
    assert api.delete(f"/api/workflows/{wf['id']}").status_code == 204
    assert api.get(f"/api/workflows/{wf['id']}").status_code == 404


def test_invalid_workflow_is_422_with_lines(api):
    bad = WORKFLOW.replace("action: track", "action: trak")
    response = api.post("/api/workflows", content=bad)
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["steps", 0, "action"] and problem["line"] == 6


def test_test_step_makes_a_real_call(api, stack):
    ours = stack.info()["ours"]
    api.post(
        "/api/authentications",
        json={
            "name": "ours-demo",
            "app": "ours",
            "credentials": {"url": ours["url"], "token": ours["test_token"], "mode": "test"},
        },
    )
    wf = api.post("/api/workflows", content=WORKFLOW).json()
    result = api.post(
        f"/api/workflows/{wf['id']}/test-step/track",
        json={"trigger": {"email": "sample@example.com"}},
    ).json()
    assert result["error"] is None and result["output"]["mode"] == "test"
    missing = api.post(f"/api/workflows/{wf['id']}/test-step/track", json={"trigger": {}}).json()
    assert "email" in missing["error"]
