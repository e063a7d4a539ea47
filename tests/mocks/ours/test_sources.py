"""Sources and keys: live + derived test key, rotation, disabled/unpublished, webhook sources."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import OursEnv


def test_demo_credentials_are_the_demo_sources_live_and_test_keys(env: OursEnv) -> None:
    info = env.admin("GET", "/info")
    assert set(info) == {"token", "test_token"}
    tokens = env.admin("GET", "/sources/src_demo/tokens")
    assert (tokens["token"], tokens["testToken"]) == (info["token"], info["test_token"])
    assert "sbx" in info["token"] and info["test_token"] != info["token"]


def test_a_new_ingest_source_gets_working_live_and_test_keys(env: OursEnv) -> None:
    created = env.admin("POST", "/sources", json={"name": "Caspio bridge"})
    assert created["type"] == "HTTPApiSource" and created["status"] == "Active"
    assert env.track(created["token"], event="lead_created", email="a@example.com").is_success
    assert env.track(created["testToken"], event="lead_created", email="a@example.com").is_success
    events = env.events(source=created["id"])
    assert [e["mode"] for e in events] == ["live", "test"]
    assert env.events(source="Caspio bridge") == events


def test_rotation_stops_the_old_keys_at_once(env: OursEnv) -> None:
    old, old_test = env.token, env.test_token
    rotated = env.admin("POST", "/sources/src_demo/rotate")
    assert rotated["token"] != old and rotated["testToken"] != old_test
    for token in (old, old_test):
        response = env.track(token, event="lead_created", email="a@example.com")
        assert (response.status_code, response.json()["success"]) == (401, False)
        assert env.batch([{"event": "x", "distinctId": "1"}], token=token).status_code == 401
    assert env.track(rotated["token"], event="lead_created", email="a@example.com").is_success
    assert env.track(rotated["testToken"], event="lead_created", email="a@example.com").is_success
    assert env.admin("GET", "/info") == {
        "token": rotated["token"],
        "test_token": rotated["testToken"],
    }


def test_idempotency_survives_rotation(env: OursEnv) -> None:
    body = {"event": "lead_created", "email": "a@example.com", "distinctId": "d-1"}
    env.track(**body)
    new = env.admin("POST", "/sources/src_demo/rotate")["token"]
    env.track(new, **body)
    assert len(env.events()) == 1


def test_disabled_or_unpublished_source_refuses_events(env: OursEnv) -> None:
    for patch in ({"status": "Disabled"}, {"isPublished": False}):
        env.admin("PATCH", "/sources/src_demo", json=patch)
        for token in (env.token, env.test_token):
            response = env.track(token, event="lead_created", email="a@example.com")
            assert (response.status_code, response.json()["success"]) == (401, False)
        env.admin("PATCH", "/sources/src_demo", json={"status": "Active", "isPublished": True})
    assert env.events() == []
    assert env.track(event="lead_created", email="a@example.com").is_success


def test_reset_restores_seeded_keys(env: OursEnv) -> None:
    seeded = env.token
    env.admin("POST", "/sources/src_demo/rotate")
    env.reset()
    assert env.token == seeded
    assert env.track(event="lead_created", email="a@example.com").is_success


def test_webhook_source_token_in_path_with_a_test_url(env: OursEnv) -> None:
    env.add_http_destination()
    tokens = env.admin("GET", "/sources/src_webhook/tokens")
    path = tokens["ingestUrl"].split("8403", 1)[1]
    test_path = tokens["testIngestUrl"].split("8403", 1)[1]
    body = {"event": "form_submitted", "email": "w@example.com", "external_id": "mrn-9"}
    assert env.client.post(path, json=body).json() == {"success": True}
    assert env.client.post(test_path, json={**body, "event": "lead_created"}).is_success
    live, test = env.events(source="src_webhook")
    assert (live["mode"], live["event"], live["identifiers"]["externalId"]) == (
        "live",
        "form_submitted",
        "mrn-9",
    )
    assert live["properties"] == body
    assert test["mode"] == "test" and test["status"] == "test"
    assert {d["event_id"] for d in env.dispatches()} == {live["id"]}
    assert [r["event"] for r in env.received] == ["form_submitted"]
    # the journal never shows the token of the URL
    paths = [e["path"] for e in env.admin("GET", "/journal")["items"]]
    assert paths == ["/api/v1/webhooks/***"] * 2


def test_webhook_url_refuses_unknown_and_ingest_keys(env: OursEnv) -> None:
    assert (
        env.client.post("/api/v1/webhooks/sbx_nope", json={"email": "a@example.com"}).status_code
        == 401
    )
    assert (
        env.client.post(
            f"/api/v1/webhooks/{env.token}", json={"email": "a@example.com"}
        ).status_code
        == 401
    )
    webhook = env.admin("GET", "/sources/src_webhook/tokens")["token"]
    assert env.track(webhook, event="lead_created", email="a@example.com").status_code == 401
    missing_identity = env.client.post(f"/api/v1/webhooks/{webhook}", json={"event": "x"})
    assert missing_identity.status_code == 400


def test_tenants_are_isolated_by_their_keys(env: OursEnv) -> None:
    created = env.admin("POST", "/tenants", json={"name": "clinic-b"})
    token = created["credentials"]["token"]
    assert token != env.token
    assert env.track(token, event="lead_created", email="b@example.com").is_success
    assert env.events() == []
    other = env.admin("GET", "/events", headers={"X-Sandbox-Tenant": "clinic-b"})["items"]
    assert [e["identifiers"]["email"] for e in other] == ["b@example.com"]
    [entry] = env.admin("GET", "/journal", params={"path": "/api/v1/track"})["items"]
    assert entry["tenant"] == "clinic-b"


def test_a_source_token_cannot_be_issued_twice(env: OursEnv) -> None:
    response = env.client.post("/__sandbox/sources", json={"token": env.token})
    assert response.status_code == 422
    real_looking = env.client.post(
        "/__sandbox/sources", json={"token": "f" * 8 + "a1B2c3D4e5F6g7H8i9J0kLmN"}
    )
    assert real_looking.status_code == 422


def test_state_export_import_round_trip(env: OursEnv) -> None:
    env.admin("POST", "/sources/src_demo/rotate")
    env.refresh_credentials()
    env.track(event="lead_created", email="a@example.com", distinctId="d-1")
    exported = env.admin("GET", "/state")
    env.reset()
    env.admin("POST", "/state", json=exported)
    env.refresh_credentials()
    assert env.admin("GET", "/state")["state"] == exported["state"]
    assert len(env.events()) == 1 and len(env.dispatches()) == 2
    # the imported keys work and the imported distinctIds still dedupe
    env.track(event="lead_created", email="a@example.com", distinctId="d-1")
    assert len(env.events()) == 1


def test_seed_adds_destinations_allowed_events_and_synthetic_visitors(env: OursEnv) -> None:
    added = env.admin(
        "POST",
        "/seed",
        json={
            "destinations": [
                {
                    "id": "tt",
                    "type": "TikTok",
                    "mappings": [{"property": "event", "map": "{{ event.event }}"}],
                }
            ],
            "allowed_events": [{"name": "video_watched", "destinationIds": ["tt"]}],
            "synthetic": {"visitors": 3},
        },
    )["added"]
    assert added == {"destinations": ["tt"], "allowed_events": ["video_watched"], "visitors": 3}
    visitors = env.admin("GET", "/visitors")["items"]
    assert all(v["properties"]["email"].endswith(("example.com", "example.org")) for v in visitors)
    env.track(event="video_watched", email=visitors[0]["properties"]["email"])
    env.track(event="lead_created", email="a@example.com")  # the seeded list is kept
    assert [(d["destination"], d["payload"]) for d in env.dispatches(destination="tt")] == [
        ("tt", {"event": "video_watched"})
    ]
    assert env.events()[0]["visitor_id"] == visitors[0]["id"]


HOOK = {"id": "http1", "type": "HTTPDestination", "settings": {"url": "http://127.0.0.1:9/x"}}


@pytest.mark.parametrize(
    "extra",
    [
        {"allowed_events": [{"name": "$pageview", "destinationIds": ["http1"]}]},
        {"allowed_events": [{"name": "x", "destinationIds": ["http1", "nope"]}]},
        {"data_governance": [{"name": "no-logic", "destinationIds": ["http1"]}]},
        {"sources": [{"type": "Fax"}]},
        {"sources": [{"id": "src_demo"}]},
        {
            "sources": [
                {"id": "a", "token": "sbx_same_token_0001"},
                {"token": "sbx_same_token_0001"},
            ]
        },
        {"visitors": ["not an object"]},
        {"synthetic": {"visitors": -1}},
    ],
)
def test_a_refused_seed_changes_nothing(env: OursEnv, extra: dict[str, Any]) -> None:
    before = env.admin("GET", "/state")["state"]
    body = {"destinations": [HOOK], "allowed_events": [{"name": "ok", "destinationIds": ["http1"]}]}
    response = env.client.post("/__sandbox/seed", json={**body, **extra})
    assert response.status_code == 422, response.text
    assert env.admin("GET", "/state")["state"] == before


def test_identify_is_allow_listed_case_insensitively(env: OursEnv) -> None:
    env.admin(
        "POST",
        "/seed",
        json={"allowed_events": [{"name": "$IDENTIFY", "destinationIds": ["meta-capi"]}]},
    )
    env.identify(email="a@example.com", userProperties={"city": "Austin"})
    [event] = env.events()
    assert event["event"] == "$identify" and event["status"] == "dispatched"
    assert [d["event"] for d in env.dispatches()] == ["$identify"]


def test_webhook_ours_user_id_stitches_and_source_timestamps(env: OursEnv) -> None:
    webhook = env.admin("GET", "/sources/src_webhook/tokens")["token"]
    body = {"event": "form_submitted", "ours_user_id": "web-visitor-7"}
    assert env.client.post(f"/api/v1/webhooks/{webhook}", json=body).is_success
    [event] = env.events()
    assert event["visitor_id"] == "web-visitor-7"
    source = env.admin("GET", "/sources/src_webhook")
    assert source["lastTriggeredAt"] == source["lastDispatchedAt"] == "2026-01-01T12:00:00Z"
