"""With --data-dir, what a fake answered is on disk before the answer: after every write of a
workload that touches each write route (vendor API and admin API), a second copy of the fake
opened on the same data dir — as a restart after SIGKILL would, with no clean shutdown — holds
exactly the live state of every tenant. Nothing in the data dir is in clear."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from careflow.mocks import VENDORS

from .fake_env import HOOK_URL, FakeEnv

START = "2026-03-02T12:00:00Z"
URLS = {"whatconverts": "http://127.0.0.1:8401", "caspio": "http://127.0.0.1:8402",
        "ours": "http://127.0.0.1:8403"}  # fmt: skip


class Durable(FakeEnv):
    def __init__(self, vendor: str, data_dir: Path) -> None:
        self.vendor, self.data_dir = vendor, data_dir
        super().__init__(VENDORS[vendor].create_app, URLS[vendor], START, 3, data_dir=data_dir)
        self.creds = self.backend.credentials_of(self.backend.state())
        self.checks = 0

    def reloaded(self) -> dict[str, Any]:
        """Every tenant's state as a fresh copy of the fake reads it from the data dir."""
        other = VENDORS[self.vendor].create_app(clock=self.clock, seed=3, data_dir=self.data_dir)
        backend = other.state.backend
        try:
            return {t: backend.export_state(t) for t in sorted(backend.tenants())}
        finally:
            backend.durable.close()

    def live(self) -> dict[str, Any]:
        return {t: self.backend.export_state(t) for t in sorted(self.backend.tenants())}

    def check(self, response: Any = None) -> None:
        if response is not None:
            assert response.status_code < 400, response.text
        self.checks += 1
        if self.vendor == "ours":
            self.settle()  # the pipeline runs after the answer, on the app's loop: let it end
        assert self.reloaded() == self.live()

    def secrets(self) -> list[str]:
        out = [v for k, v in self.creds.items() if isinstance(v, str) and k != "profile_name"]
        return [s for s in out if len(s) >= 8]


@pytest.fixture
def make(tmp_path: Path) -> Iterator[Callable[[str], Durable]]:
    envs: list[Durable] = []

    def factory(vendor: str) -> Durable:
        envs.append(Durable(vendor, tmp_path / vendor))
        return envs[-1]

    yield factory
    for env in envs:
        env.close()


def no_secret_in_clear(env: Durable, extra: list[str]) -> None:
    env.backend.durable.db.execute("PRAGMA wal_checkpoint(FULL)")
    blobs = b"".join(p.read_bytes() for p in env.data_dir.rglob("*") if p.is_file())
    for secret in [*env.secrets(), *extra]:
        assert secret.encode() not in blobs, f"{secret[:6]}… is in clear in {env.data_dir}"


def test_whatconverts_every_write_is_on_disk_before_the_answer(make):
    env = make("whatconverts")
    c = env.creds
    profile = env.new_client(
        base_url=f"{env.base_url}/api/v1", auth=(c["api_token"], c["api_secret"])
    )
    master = env.new_client(
        base_url=f"{env.base_url}/api/v1", auth=(c["master_token"], c["master_secret"])
    )
    lead = profile.post("/leads", data={"lead_type": "web_form", "contact_name": "Durable One"})
    env.check(lead)
    lead_id = lead.json()["lead_id"]
    env.check(profile.post("/leads", json={"lead_type": "phone_call", "quotable": "yes"}))
    env.check(profile.post(f"/leads/{lead_id}", data={"quote_value": "120.5"}))
    env.check(profile.get("/leads"))  # the daily quota counts reads too
    account = master.post("/accounts", data={"account_name": "Acme", "create_profile": "true"})
    env.check(account)
    aid = account.json()["account_id"]
    env.check(master.post(f"/accounts/{aid}", data={"account_name": "Acme 2"}))
    new_profile = master.post(f"/accounts/{aid}/profiles", data={"profile_name": "Second"})
    env.check(new_profile)
    pid = new_profile.json()["profile_id"]
    env.check(master.post("/leads", data={"lead_type": "chat", "profile_id": str(pid)}))
    env.check(master.delete(f"/accounts/{aid}/profiles/{pid}"))
    env.check(master.delete(f"/accounts/{aid}"))
    hook = {"profile_id": c["profile_id"], "url": HOOK_URL}
    env.check(env.client.post("/__sandbox/webhooks", json=hook))
    env.check(env.client.post("/__sandbox/seed", json={"synthetic": {"leads": 5}}))
    env.check(env.client.put("/__sandbox/quota", json={"profile": 50}))
    tenant = env.client.post("/__sandbox/tenants", json={"name": "second"})
    env.check(tenant)
    env.check(env.client.post("/__sandbox/reset", headers={"X-Sandbox-Tenant": "default"}))
    env.check(env.client.delete("/__sandbox/tenants/second"))
    assert env.checks >= 15
    no_secret_in_clear(env, [tenant.json()["credentials"]["api_secret"]])


def test_caspio_every_write_is_on_disk_before_the_answer(make):
    env = make("caspio")
    c = env.creds
    form = {"grant_type": "client_credentials", "client_id": c["client_id"],
            "client_secret": c["client_secret"]}  # fmt: skip
    grant = env.client.post("/oauth/token", data=form)
    env.check(grant)
    token = grant.json()["access_token"]
    api = env.new_client(
        base_url=f"{env.base_url}/integrations/rest/v3",
        headers={"Authorization": f"Bearer {token}"},
    )
    fields = [
        {"Name": "Body", "Type": "TEXT"},
        {"Name": "Key", "Type": "GUID", "Unique": True},
        {"Name": "Pw", "Type": "PASSWORD"},
    ]
    table = {"Name": "Notes", "Fields": fields}
    env.check(api.post("/tables", json=table))
    env.check(api.post("/tables/Notes/records", json={"Body": "one", "Pw": "hunter22-secret"}))
    env.check(api.post("/tables/Notes/records", json={"Body": "two"}))
    env.check(api.post("/tables/Notes/fields", json={"Name": "Extra", "Type": "STRING"}))
    env.check(api.put("/tables/Notes/fields/Extra", json={"Name": "Renamed"}))
    env.check(
        api.put("/tables/Notes/records", params={"q.where": "Body='one'"}, json={"Renamed": "x"})
    )
    env.check(api.delete("/tables/Notes/fields/Renamed"))
    env.check(api.delete("/tables/Notes/records", params={"q.where": "Body='two'"}))
    env.check(api.delete("/tables/Notes/records", params={"q.where": "Body='one'"}))
    again = api.post("/tables/Notes/records", params={"response": "rows"}, json={"Body": "three"})
    env.check(again)
    assert again.json()["Result"][0]["PK_ID"] == 3  # AUTONUMBER never reuses a deleted id
    hook = api.post("/outgoingWebhooks", json={"Name": "h", "OutgoingUrls": [HOOK_URL]})
    env.check(hook)
    hook_id = hook.json()["Id"]
    event = {"EventType": "table.recordInsert", "ObjectName": "Patients"}
    added = api.post(f"/outgoingWebhooks/{hook_id}/events", json=event)
    env.check(added)
    env.check(api.post("/tables/Patients/records", json={"FirstName": "Hooked"}))
    env.check(api.put(f"/outgoingWebhooks/{hook_id}", json={"Description": "changed"}))
    env.check(api.delete(f"/outgoingWebhooks/{hook_id}/events/{added.json()['Id']}"))
    env.check(api.delete(f"/outgoingWebhooks/{hook_id}"))
    refreshed = env.client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": grant.json()["refresh_token"]},
    )
    env.check(refreshed)
    env.check(env.client.post("/__sandbox/profiles", json={"name": "Other"}))
    env.check(env.client.patch("/__sandbox/profiles/Other", json={"enabled": False}))
    env.check(env.client.post("/__sandbox/meter", json={"used": 7}))
    env.check(env.client.delete("/__sandbox/profiles/Other"))
    env.check(env.client.post("/__sandbox/seed", json={"synthetic": {"patients": 3}}))
    secrets = [token, grant.json()["refresh_token"], hook.json()["Secret"], "hunter22-secret",
               refreshed.json()["access_token"]]  # fmt: skip
    no_secret_in_clear(env, secrets)


def test_ours_every_write_is_on_disk_before_the_answer(make):
    env = make("ours")
    token = env.creds["token"]
    api = env.new_client(base_url=f"{env.base_url}/api/v1")
    env.check(
        api.post("/track", json={"token": token, "event": "lead_created", "email": "a@example.com"})
    )
    env.settle()
    env.check()  # the pipeline's progress (status, dispatches) is written too
    env.check(api.post("/identify", json={"token": token, "email": "a@example.com",
                                          "userProperties": {"city": "Reno"}}))  # fmt: skip
    env.check(api.post("/track", json={"token": token, "event": "lead_created",
                                       "distinctId": "d-1", "userId": "u-1"}))  # fmt: skip
    batch = [{"event": "patient_intake", "email": f"p{i}@example.com"} for i in range(3)]
    env.check(api.post("/batch", json={"token": token, "events": batch}))
    env.settle()
    env.check()
    source = env.client.post("/__sandbox/sources", json={"name": "Site 2"})
    env.check(source)
    sid = source.json()["id"]
    env.check(env.client.patch(f"/__sandbox/sources/{sid}", json={"name": "Site 2b"}))
    env.check(env.client.post(f"/__sandbox/sources/{sid}/rotate"))
    dest = {"id": "crm", "type": "HTTPDestination", "settings": {"url": HOOK_URL}}
    env.check(env.client.post("/__sandbox/destinations", json=dest))
    allowed = env.client.get("/__sandbox/allowed-events").json()["items"]
    env.check(env.client.put("/__sandbox/allowed-events", json={"items": allowed}))
    env.check(env.client.put("/__sandbox/data-governance", json={"items": []}))
    no_secret_in_clear(env, [env.backend.state().sources[sid].token])


def test_a_restart_after_a_clean_stop_changes_nothing(make):
    env = make("whatconverts")
    env.backend.close_store()  # what the app's shutdown does
    assert env.reloaded()["default"] == env.live()["default"]


def test_the_json_file_of_earlier_versions_is_migrated_and_removed(tmp_path):
    data_dir = tmp_path / "wc"
    old = VENDORS["whatconverts"].create_app(seed=3)
    backend = old.state.backend
    data_dir.mkdir()
    backend.save(data_dir)  # the format earlier versions wrote at shutdown, secrets in clear
    token = backend.credentials_of(backend.state())["api_secret"]
    assert token.encode() in (data_dir / "whatconverts.json").read_bytes()
    new = VENDORS["whatconverts"].create_app(seed=3, data_dir=data_dir)
    assert new.state.backend.export_state() == backend.export_state()
    assert not (data_dir / "whatconverts.json").exists()
    new.state.backend.close_store()
    assert token.encode() not in b"".join(p.read_bytes() for p in data_dir.iterdir())


def test_basic_credentials_survive_as_credentials(make):
    """After a restart the fake still answers the credentials it issued (they are sealed,
    not hashed away)."""
    env = make("whatconverts")
    c = env.creds
    other = VENDORS["whatconverts"].create_app(clock=env.clock, seed=3, data_dir=env.data_dir)
    from starlette.testclient import TestClient

    with TestClient(other) as client:
        auth = base64.b64encode(f"{c['api_token']}:{c['api_secret']}".encode()).decode()
        assert (
            client.get("/api/v1/leads", headers={"Authorization": f"Basic {auth}"}).status_code
            == 200
        )


def test_ours_events_accepted_before_a_crash_are_processed_after_it(make):
    """An accepted event is on disk before the answer; the pipeline runs after it. Killed in
    between, the restarted fake takes the event up at its first settle."""
    env = make("ours")
    body = {"token": env.creds["token"], "event": "lead_created", "email": "left@example.com"}
    pipeline = env.app.state.pipeline
    pipeline.submit = lambda tenant, ids: None  # "killed" before the pipeline ran
    assert env.client.post("/api/v1/track", json=body).status_code == 200
    other = VENDORS["ours"].create_app(clock=env.clock, seed=3, data_dir=env.data_dir)
    from starlette.testclient import TestClient

    with TestClient(other) as client:
        events = client.get("/__sandbox/events").json()["items"]
    assert [e["status"] for e in events if e["identifiers"]["email"] == "left@example.com"] == [
        "dispatched"
    ]
