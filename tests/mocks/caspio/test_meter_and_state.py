"""Integration-call meter ([C]/[O] caspio.md §7), reset, export/import and restart persistence."""

from __future__ import annotations

from pathlib import Path

from .conftest import CaspioEnv


def test_rest_calls_and_webhook_messages_count(env: CaspioEnv) -> None:
    start = env.admin("GET", "/meter")["used"]
    env.call("GET", "/tables")
    env.webhook([{"EventType": "table.recordInsert", "ObjectName": "Patients"}])  # 2 calls
    env.call("POST", "/tables/Patients/records", json={})  # 1 call + 1 message
    assert env.admin("GET", "/meter")["used"] == start + 5


def test_over_allowance_records_overage_by_default(env: CaspioEnv) -> None:
    used = env.admin("GET", "/meter")["used"]
    env.admin("POST", "/meter", json={"allowance": used + 1})
    assert env.call("GET", "/tables").status_code == 200
    assert env.call("GET", "/tables").status_code == 200
    meter = env.admin("GET", "/meter")
    assert meter["overage"] == 1 and meter["used"] == used + 2


def test_over_allowance_error_mode_answers_the_observed_body(env: CaspioEnv) -> None:
    used = env.admin("GET", "/meter")["used"]
    env.admin("POST", "/meter", json={"allowance": used, "over_quota": "error"})
    r = env.call("GET", "/tables")
    assert r.status_code == 400
    assert r.json() == [
        {"message": "You have exceeded your API call rate limits.", "name": "api-calls-rate"}
    ]


def test_reset_restores_meter_data_and_profiles(env: CaspioEnv) -> None:
    deleted = env.call("DELETE", "/tables/Patients/records", params={"q.where": "PK_ID > 0"})
    assert deleted.json() == {"RecordsAffected": 20}
    env.admin("POST", "/profiles", json={"name": "Extra"})
    assert env.admin("GET", "/meter")["used"] > 0
    env.admin("POST", "/reset")
    assert env.admin("GET", "/meter")["used"] == 0
    assert [p["name"] for p in env.admin("GET", "/profiles")["items"]] == ["Keragon demo"]
    # a token issued before the reset went with the state that issued it
    assert env.call("GET", "/tables").status_code == 401
    env.token = env.get_token()["access_token"]
    rows = env.records(**{"q.limit": 1000})
    assert [r["PK_ID"] for r in rows] == list(range(1, 21))


def test_seed_is_deterministic() -> None:
    a, b = CaspioEnv(seed=11), CaspioEnv(seed=11)
    try:
        assert a.records() == b.records() and a.creds == b.creds
    finally:
        a.close()
        b.close()


def test_export_import_round_trip(env: CaspioEnv) -> None:
    env.call("POST", "/tables/Patients/records", json={"FirstName": "Kept"})
    exported = env.admin("GET", "/state")
    env.admin("POST", "/reset")
    env.admin("POST", "/state", json=exported)
    env.token = env.get_token()["access_token"]
    assert env.records(**{"q.where": "FirstName = 'Kept'"})[0]["PK_ID"] == 21


def test_state_survives_restart_with_data_dir(tmp_path: Path) -> None:
    first = CaspioEnv(data_dir=tmp_path)
    first.call(
        "POST", "/tables", json={"Name": "Notes", "Fields": [{"Name": "Body", "Type": "TEXT"}]}
    )
    first.call("POST", "/tables/Notes/records", json={"Body": "hello"})
    token = first.token
    first.kernel.save()
    first.close()
    assert list((tmp_path / "caspio").glob("*.sqlite3"))  # a real SQLite file per tenant
    second = CaspioEnv(data_dir=tmp_path)
    try:
        assert second.records("Notes", **{}) == [{"PK_ID": 1, "Body": "hello"}]
        assert second.call("GET", "/tables", token=token).status_code == 200
        new = second.call("POST", "/tables/Notes/records", params={"response": "rows"}, json={})
        assert new.json()["Result"][0]["PK_ID"] == 2
    finally:
        second.close()


def test_error_mode_charges_the_call_first_and_never_aborts_webhook_messages(
    env: CaspioEnv,
) -> None:
    r = env.call(
        "POST",
        "/outgoingWebhooks",
        json={
            "Name": "two",
            "OutgoingUrls": ["http://127.0.0.1:9/hook", "http://localhost:9/hook"],
        },
    )
    hook = r.json()
    ev = {"EventType": "table.recordInsert", "ObjectName": "Patients"}
    assert env.call("POST", f"/outgoingWebhooks/{hook['Id']}/events", json=ev).status_code == 201
    used = env.admin("GET", "/meter")["used"]
    env.admin("POST", "/meter", json={"allowance": used + 2, "over_quota": "error"})
    # the call fits (used+1); its two messages follow the change: sent, one as overage
    r = env.call("POST", "/tables/Patients/records", json={"FirstName": "Fits"})
    assert r.status_code == 201, r.text
    env.settle()
    assert len(env.kernel.webhooks.items()) == 2
    assert env.admin("GET", "/meter") | {"over_quota": "error"} == {
        "used": used + 3,
        "allowance": used + 2,
        "overage": 1,
        "over_quota": "error",
    }
    before = env.backend.dump_state(env.backend.state())["tables"]
    # over the allowance: refused before anything happens, and the refusal is not charged
    r = env.call("POST", "/tables/Patients/records", json={"FirstName": "Refused"})
    assert r.status_code == 400 and r.json()[0]["name"] == "api-calls-rate"
    assert env.backend.dump_state(env.backend.state())["tables"] == before
    assert len(env.kernel.webhooks.items()) == 2
    assert env.admin("GET", "/meter")["used"] == used + 3


def test_the_over_quota_answer_conforms_to_the_spec(env: CaspioEnv) -> None:
    from careflow.contracts import assert_conforms

    used = env.admin("GET", "/meter")["used"]
    env.admin("POST", "/meter", json={"allowance": used, "over_quota": "error"})
    for method, path in [("GET", "/tables"), ("POST", "/tables/Patients/records")]:
        r = env.call(method, path, json={})
        assert r.status_code == 400
        assert_conforms(r, vendor="caspio")
