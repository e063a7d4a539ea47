"""POST /identify and visitor resolution (ours-privacy.md §3, §4, §10)."""

from __future__ import annotations

from .conftest import OursEnv


def visitor(env: OursEnv, vid: str, mode: str = "live") -> dict:
    return env.admin("GET", f"/visitors/{vid}", params={"mode": mode})


def test_identify_needs_user_properties(env: OursEnv) -> None:
    assert env.identify(email="a@example.com").status_code == 400
    assert env.identify(email="a@example.com", userProperties=None).status_code == 400
    assert env.identify(userProperties={"first_name": "Ann"}).status_code == 400  # no identifier
    assert env.identify(email="a@example.com", userProperties={}).json() == {"success": True}


def test_identify_records_identify_without_firing_downstream(env: OursEnv) -> None:
    env.identify(email="a@example.com", userProperties={"first_name": "Ann"})
    [event] = env.events()
    assert event["event"] == "$identify" and event["status"] == "filtered"
    assert event["user_properties"] == {"first_name": "Ann"}
    assert env.dispatches() == []


def test_identify_reaches_destinations_when_allow_listed(env: OursEnv) -> None:
    allowed = env.admin("GET", "/allowed-events")["items"]
    allowed.append({"name": "$identify", "destinationIds": ["meta-capi"]})
    env.admin("PUT", "/allowed-events", json={"items": allowed})
    env.identify(email="a@example.com", userProperties={"first_name": "Ann"})
    [dispatch] = env.dispatches()
    assert dispatch["event"] == "$identify" and dispatch["destination"] == "meta-capi"


def test_null_clears_empty_and_omitted_keep_custom_properties_merge(env: OursEnv) -> None:
    first = {
        "first_name": "Ann",
        "last_name": "Lee",
        "city": "Austin",
        "custom_properties": {"plan": "gold", "score": 3},
    }
    env.identify(externalId="p-1", userProperties=first)
    env.identify(
        externalId="p-1",
        userProperties={
            "first_name": None,  # clears
            "last_name": "",  # kept
            "state": "TX",  # set
            "custom_properties": {"score": 4, "plan": None, "tier": ""},  # merge
        },
    )
    [vid] = {e["visitor_id"] for e in env.events()}
    props = visitor(env, vid)
    assert props["properties"] == {
        "external_id": "p-1",
        "last_name": "Lee",
        "city": "Austin",
        "state": "TX",
    }
    assert props["custom_properties"] == {"plan": "gold", "score": 4}


def test_track_user_properties_update_the_visitor(env: OursEnv) -> None:
    env.track(event="lead_created", email="a@example.com", userProperties={"city": "Reno"})
    [event] = env.events()
    assert visitor(env, event["visitor_id"])["properties"]["city"] == "Reno"


def test_resolution_order_user_id_then_external_id_then_email_then_phone(env: OursEnv) -> None:
    env.identify(
        externalId="p-1",
        email="ann@example.com",
        userProperties={"phone_number": "+1 (312) 555-0101"},
    )
    [first] = env.events()
    vid = first["visitor_id"]
    # externalId hit
    env.track(event="lead_created", externalId="p-1")
    # email hit (case-insensitive), externalId unknown → falls back to email
    env.track(event="lead_created", externalId="other", email="ANN@example.com")
    # phone hit
    env.track(event="lead_created", externalId="p-9", userProperties={"phone_number": "3125550101"})
    # userId is used directly, no lookup: a new visitor with that id even though email matches
    env.track(event="lead_created", userId="web-visitor-1", email="ann@example.com")
    ids = [e["visitor_id"] for e in env.events()]
    assert ids[:4] == [vid] * 4
    assert ids[4] == "web-visitor-1"
    assert env.track(event="lead_created", userId="web-visitor-1").is_success
    assert env.events()[-1]["visitor_id"] == "web-visitor-1"


def test_a_new_identifier_creates_a_visitor(env: OursEnv) -> None:
    env.track(event="lead_created", email="a@example.com")
    env.track(event="lead_created", email="b@example.com")
    assert len({e["visitor_id"] for e in env.events()}) == 2
    assert len(env.admin("GET", "/visitors")["items"]) == 2


def test_test_key_identify_never_touches_live_visitors(env: OursEnv) -> None:
    env.identify(email="a@example.com", userProperties={"city": "Reno"})
    env.identify(env.test_token, email="a@example.com", userProperties={"city": "Test City"})
    [live] = env.admin("GET", "/visitors")["items"]
    assert live["properties"]["city"] == "Reno"
    [test] = env.admin("GET", "/visitors", params={"mode": "test"})["items"]
    assert test["properties"]["city"] == "Test City"
