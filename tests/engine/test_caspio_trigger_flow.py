"""A Caspio trigger through the whole in-process stack, with a data dir: the webhook secret is
verified, never shown in runs, and never stored in clear."""

from pathlib import Path

import pytest

from careflow.mocks.kernel import VirtualClock
from careflow.scenarios import InProcessStack


@pytest.fixture
def stack(tmp_path: Path):
    clock = VirtualClock("2026-03-02T09:00:00Z", frozen=True)
    with InProcessStack(clock=clock, data_dir=tmp_path) as s:
        yield s


def _caspio_headers(stack) -> dict[str, str]:
    cas = stack.info()["caspio"]
    form = {
        "grant_type": "client_credentials",
        "client_id": cas["client_id"],
        "client_secret": cas["client_secret"],
    }
    with stack.client("caspio") as c:
        token = c.post("/oauth/token", data=form).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def _workflow(api, auth: str) -> str:
    created = api.post(
        "/api/workflows",
        json={
            "name": "Intake",
            "trigger": {"app": "caspio", "event": "table.recordInsert", "auth": auth,
                        "params": {"table": "Patients"}},
            "steps": [{"id": "ok", "app": "logic", "action": "continue_if",
                       "params": {"value": "{{ trigger.Name }}", "op": "is_not_null"}}],
        },
    )  # fmt: skip
    assert created.status_code == 201, created.text
    workflow_id = created.json()["id"]
    assert api.post(f"/api/workflows/{workflow_id}/activate").status_code == 200
    return workflow_id


def test_webhook_secret_is_verified_hidden_and_encrypted_at_rest(stack, tmp_path):
    cas = stack.info()["caspio"]
    # DESIGN's credential keys only (no profile_name): still named after the profile
    creds = {k: cas[k] for k in ("url", "client_id", "client_secret")}
    with stack.client("engine") as api, stack.client("caspio") as caspio:
        api.post("/api/authentications", json={"name": "c", "app": "caspio", "credentials": creds})
        workflow_id = _workflow(api, "c")
        headers = _caspio_headers(stack)
        hooks = caspio.get("/integrations/rest/v3/outgoingWebhooks", headers=headers).json()
        assert [h["Name"] for h in hooks] == [cas["profile_name"]]
        audit = api.get("/api/audit").json()["items"]
        activation = [a for a in audit if a["action"] == "trigger.activate"]
        assert activation[0]["detail"]["usage"]["caspio_calls"] >= 3  # list, create, event
        inserted = caspio.post(
            "/integrations/rest/v3/tables/Patients/records",
            headers=headers,
            json={"Name": "Jane Roe", "Email": "jane@example.org"},
        )
        assert inserted.status_code == 201
        stack.run(stack.settle())
        runs = api.get("/api/runs", params={"workflow_id": workflow_id}).json()["items"]
        assert [r["status"] for r in runs] == ["Completed"]
        message = runs[0]["trigger"]["_message"]
        assert message["webhookId"] == hooks[0]["Id"] and "secret" not in message
        backend = stack.apps["caspio"].state.backend
        secret = backend.state().webhooks[hooks[0]["Id"]]["Secret"]
        genuine = {
            "secret": secret,
            "webhookId": hooks[0]["Id"],
            "messageId": "m-1",
            "eventType": "table.recordInsert",
            "objectName": "Patients",
            "data": [{"PK_ID": 999, "Name": "Forged"}],
        }
        for forged in (
            {k: v for k, v in genuine.items() if k != "secret"},
            {**genuine, "secret": "wrong"},
            {**genuine, "webhookId": "other"},
        ):
            assert api.post(f"/hooks/{workflow_id}", json=forged).status_code == 401
        assert api.post(f"/hooks/{workflow_id}", json=genuine).status_code == 202
        assert "secret" not in str(api.get(f"/api/workflows/{workflow_id}").json())
    stack.engine.store.db.execute("PRAGMA wal_checkpoint(FULL)")
    for path in (tmp_path / "engine").iterdir():
        assert secret.encode() not in path.read_bytes(), path
