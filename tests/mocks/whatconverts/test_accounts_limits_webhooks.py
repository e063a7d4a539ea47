"""Accounts and profiles (whatconverts.md §10, agency key), daily quotas and concurrency (§3),
webhooks (§7), and the synthetic seed."""

from __future__ import annotations

import asyncio

import httpx

from careflow.mocks.whatconverts.models import CONCURRENT, MASTER_DAILY, PROFILE_DAILY

from .conftest import BASE, HOOK_URL, WCEnv


def test_accounts_and_profiles_need_the_agency_key(env: WCEnv) -> None:
    refused = env.profile.get("/accounts")
    assert refused.status_code == 401
    assert refused.json() == {"error_message": "Agency Key is required to access this resource."}
    listing = env.master.get("/accounts").json()
    assert list(listing) == [
        "page_number",
        "accounts_per_page",
        "total_pages",
        "total_accounts",
        "accounts",
    ]
    assert listing["accounts"][0]["profiles"][0]["profile_id"] == env.creds["profile_id"]
    assert env.master.get("/accounts", params={"accounts_per_page": 251}).status_code == 400


def test_account_and_profile_lifecycle(env: WCEnv) -> None:
    account = env.master.post("/accounts", data={"account_name": "North Clinic"}).json()
    aid = account["account_id"]
    assert account["profiles"] == []
    renamed = env.master.post(f"/accounts/{aid}", data={"account_name": "North Clinic 2"})
    assert renamed.json()["account_name"] == "North Clinic 2"
    profile = env.master.post(f"/accounts/{aid}/profiles", data={"profile_name": "Main"}).json()
    pid = profile["profile_id"]
    assert set(profile) == {"profile_id", "profile_name", "date_created"}
    listed = env.master.get(f"/accounts/{aid}/profiles").json()
    assert listed["total_profiles"] == 1 and listed["profiles"][0] == profile
    edited = env.master.post(f"/accounts/{aid}/profiles/{pid}", data={"profile_name": "Front"})
    assert edited.json()["profile_name"] == "Front"
    env.master.post("/leads", data={"profile_id": pid, "lead_type": "other"})
    assert env.master.post(f"/accounts/{aid}", data={}).status_code == 400  # name required
    assert env.master.delete(f"/accounts/{aid}").json() == {"account_id": aid, "deleted": True}
    assert env.master.get(f"/accounts/{aid}").json() == {"error_message": "Invalid account ID."}
    assert all(lead["profile_id"] != pid for lead in env.state.leads.values())


def test_profile_key_daily_quota_resets_at_midnight_utc(env: WCEnv) -> None:
    assert (PROFILE_DAILY, MASTER_DAILY) == (1_000, 10_000)
    for _ in range(PROFILE_DAILY):
        assert env.profile.get("/leads", params={"leads_per_page": 1}).status_code == 200
    over = env.profile.get("/leads")
    assert over.status_code == 429 and "1000" in over.json()["error_message"]
    assert "retry-after" not in over.headers  # §3: no rate-limit headers
    assert env.master.get("/leads").status_code == 200  # counted per key
    env.clock.set("2026-03-02T23:59:59Z")
    assert env.profile.get("/leads").status_code == 429
    env.clock.advance(1)  # midnight UTC
    assert env.profile.get("/leads").status_code == 200


def test_quota_limits_and_status_are_configurable(env: WCEnv) -> None:
    quota = env.admin("GET", "/quota")
    assert quota["limits"]["master"] == 10_000 and quota["limits"]["profile"] == 1_000
    env.admin("PUT", "/quota", json={"master": 2, "status": 403})
    assert env.master.get("/accounts").status_code == 200
    assert env.master.get("/accounts").status_code == 200
    assert env.master.get("/accounts").status_code == 403
    bad = env.anon.put("http://127.0.0.1:8401/__sandbox/quota", json={"status": 200})
    assert bad.status_code == 422


def test_the_twenty_first_request_in_flight_on_a_key_is_refused(env: WCEnv) -> None:
    """§3 up to 20 concurrent requests: a latency fault (virtual clock, nobody waits) holds
    requests in flight; the 21st on the same key gets a 429 and is not charged to the daily
    quota, while the agency key's own request goes through."""
    env.admin(
        "POST",
        "/faults",
        json={"method": "GET", "path": "/api/v1/leads", "kind": "latency", "latency_ms": 200},
    )
    profile = (env.creds["api_token"], env.creds["api_secret"])
    master = (env.creds["master_token"], env.creds["master_secret"])

    async def burst() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=env.app)
        async with httpx.AsyncClient(transport=transport, base_url=f"{BASE}/api/v1") as client:
            calls = [client.get("/leads", auth=profile) for _ in range(CONCURRENT + 1)]
            return await asyncio.gather(*calls, client.get("/leads", auth=master))

    responses = env.loop.run(burst())
    statuses = [r.status_code for r in responses]
    assert statuses[:CONCURRENT] == [200] * CONCURRENT
    refused = responses[CONCURRENT]
    assert refused.status_code == 429
    assert refused.json() == {"error_message": "Too many concurrent requests (the limit is 20)."}
    assert statuses[-1] == 200  # counted per key
    assert env.state.in_flight == {}  # every request left again
    usage = env.admin("GET", "/quota")["usage"]
    assert {u["kind"]: u["requests"] for u in usage} == {"profile": CONCURRENT, "master": 1}
    assert env.profile.get("/leads").status_code == 200  # nothing held any more


def test_new_and_update_webhooks_carry_the_flat_lead(env: WCEnv) -> None:
    env.admin("POST", "/webhooks", json={"url": HOOK_URL, "lead_types": ["web_form"]})
    lead = env.profile.post("/leads", data={"lead_type": "web_form", "form_name": "F"}).json()
    env.profile.post("/leads", data={"lead_type": "chat"})  # filtered out by lead type
    env.profile.post(f"/leads/{lead['lead_id']}", data={"quote_value": "75"})
    env.settle()
    assert [m["trigger"] for m in env.received] == ["new", "update"]
    assert env.received[0]["lead_id"] == lead["lead_id"]
    assert env.received[0]["lead_type"] == "Web Form"  # flat lead JSON, display names
    assert env.received[1]["quote_value"] == 75
    deliveries = env.admin("GET", "/webhooks/deliveries")["items"]
    assert len(deliveries) == 2 and {d["status"] for d in deliveries} == {"delivered"}


def test_hipaa_accounts_refuse_plain_http_webhooks(env: WCEnv) -> None:
    account_id = env.state.profiles[env.creds["profile_id"]]["account_id"]
    env.state.accounts[account_id]["hipaa"] = True
    refused = env.anon.post(
        "http://127.0.0.1:8401/__sandbox/webhooks", json={"url": "http://hooks.example.com/x"}
    )
    assert refused.status_code == 422 and "HTTPS" in refused.text
    assert env.admin("POST", "/webhooks", json={"url": HOOK_URL})["url"] == HOOK_URL  # loopback
    https = env.admin("POST", "/webhooks", json={"url": "https://hooks.example.com/x"})
    assert https["triggers"] == ["new", "update"]


def test_seed_spreads_synthetic_leads_over_a_window(env: WCEnv) -> None:
    before = len(env.state.leads)
    added = env.admin(
        "POST",
        "/seed",
        json={"synthetic": {"leads": 30, "window_minutes": 10, "lead_types": ["chat"]}},
    )
    assert added["added"] == {"leads": 30}
    recent = env.profile.get(
        "/leads",
        params={"start_date": "2026-03-02T11:50:00Z", "lead_type": "chat", "leads_per_page": 99},
    ).json()
    assert recent["total_leads"] >= 30
    stamps = sorted(lead["date_created"] for lead in recent["leads"])
    assert stamps[0] >= "2026-03-02T11:50:00Z" and stamps[-1] <= "2026-03-02T12:00:00Z"
    assert len(set(stamps)) >= 10  # spread over the window, not piled on one instant
    assert len(env.state.leads) == before + 30
    emails = {lead["email_address"] for lead in env.state.leads.values() if lead["email_address"]}
    assert all(e.endswith(("example.com", "example.org", "example.net")) for e in emails)
