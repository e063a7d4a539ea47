"""POST /track: auth, field rules, time window, idempotency, aliases (ours-privacy.md §3, §6)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import OursEnv

DAY_MS = 86_400_000


def test_accepted_event_answers_success_and_shows_in_recent_events(env: OursEnv) -> None:
    response = env.track(event="lead_created", email="pat@example.com", eventProperties={"n": 1})
    assert (response.status_code, response.json()) == (200, {"success": True})
    [event] = env.events()
    assert set(event) >= {
        "id", "event", "mode", "source", "distinct_id", "visitor_id", "identifiers",
        "properties", "received_at", "status",
    }  # fmt: skip
    assert event["mode"] == "live" and event["source"] == "src_demo"
    assert event["identifiers"] == {"userId": None, "externalId": None, "email": "pat@example.com"}
    assert event["properties"] == {"n": 1}
    assert event["received_at"] == "2026-01-01T12:00:00Z"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"event": "lead_created", "email": "a@example.com"}, 401),  # no token
        ({"token": "", "event": "lead_created", "email": "a@example.com"}, 401),
        ({"token": "sbx_unknown", "event": "lead_created", "email": "a@example.com"}, 401),
        ({"token": 12, "event": "lead_created", "email": "a@example.com"}, 400),
        ({"token": "x" * 251, "event": "lead_created", "email": "a@example.com"}, 400),
    ],
)
def test_token_rules(env: OursEnv, body: dict, status: int) -> None:
    response = env.post("/track", body)
    assert response.status_code == status
    assert response.json()["success"] is False
    assert env.events() == []


@pytest.mark.parametrize(
    "fields",
    [
        {"email": "a@example.com"},  # no event
        {"event": "", "email": "a@example.com"},
        {"event": "   ", "email": "a@example.com"},
        {"event": "e" * 1001, "email": "a@example.com"},
        {"event": 5, "email": "a@example.com"},
        {"event": "lead_created"},  # no identifier
        {"event": "lead_created", "userId": None, "email": None},
        {"event": "lead_created", "userId": "u" * 401},
        {"event": "lead_created", "externalId": "x" * 401},
        {"event": "lead_created", "email": "e" * 1001},
        {"event": "lead_created", "email": "a@example.com", "distinctId": "d" * 401},
        {"event": "lead_created", "email": "a@example.com", "eventProperties": [1]},
        {"event": "lead_created", "email": "a@example.com", "userProperties": "x"},
        {"event": "lead_created", "email": "a@example.com", "time": "yesterday"},
        {"event": "lead_created", "email": "a@example.com", "time": True},
    ],
)
def test_field_rules_answer_400_and_change_nothing(env: OursEnv, fields: dict) -> None:
    response = env.track(**fields)
    assert response.status_code == 400
    assert response.json()["success"] is False
    assert env.events() == [] and env.dispatches() == []
    assert env.admin("GET", "/visitors")["items"] == []


def test_bad_json_and_non_object_bodies_are_400(env: OursEnv) -> None:
    bad = env.client.post(
        "/api/v1/track", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert (bad.status_code, bad.json()["success"]) == (400, False)
    assert env.post("/track", [1, 2]).status_code == 400


def test_at_least_one_identifier_any_of_three(env: OursEnv) -> None:
    assert env.track(event="lead_created", userId="visitor-1").status_code == 200
    assert env.track(event="lead_created", externalId="patient-1").status_code == 200
    assert env.track(event="lead_created", externalId=42).status_code == 200  # coerced to text
    assert env.track(event="lead_created", email="a@example.com").status_code == 200


def test_time_must_be_in_the_past_seven_days_of_the_virtual_clock(env: OursEnv) -> None:
    now = env.now_ms
    for ok in (now, now - 1, now - 7 * DAY_MS):
        assert env.track(event="lead_created", email="a@example.com", time=ok).status_code == 200
    for bad in (now + 1, now - 7 * DAY_MS - 1):
        assert env.track(event="lead_created", email="a@example.com", time=bad).status_code == 400
    env.clock.advance(8 * 86_400)  # a week later the same instant is too old
    assert env.track(event="lead_created", email="a@example.com", time=now).status_code == 400


def test_backfilled_time_is_the_event_time(env: OursEnv) -> None:
    env.track(event="lead_created", email="a@example.com", time=env.now_ms - DAY_MS)
    [event] = env.events()
    assert event["time"] == "2025-12-31T12:00:00Z"


def test_distinct_id_makes_a_repeat_count_once(env: OursEnv) -> None:
    body = {"event": "lead_created", "email": "a@example.com", "distinctId": "order-1"}
    assert env.track(**body).json() == {"success": True}
    assert env.track(**body).json() == {"success": True}
    assert env.track(**{**body, "distinctId": "  order-1 "}).status_code == 200  # trimmed
    assert len(env.events()) == 1
    assert len(env.dispatches(destination="meta-capi")) == 1
    # without distinctId Ours generates one: two sends are two events
    env.track(event="lead_created", email="a@example.com")
    env.track(event="lead_created", email="a@example.com")
    assert len(env.events()) == 3


def test_a_caller_id_shaped_like_a_generated_one_never_swallows_an_event(env: OursEnv) -> None:
    # generated ids look like ours_evt_NNNNNN; a caller may send such a string first
    assert env.track(event="lead_created", email="a@example.com", distinctId="ours_evt_000005")
    assert env.track(event="lead_created", email="victim@example.com").json() == {"success": True}
    events = env.events()
    assert len(events) == 2
    assert len({e["distinct_id"] for e in events}) == 2
    assert "victim@example.com" in {e["identifiers"]["email"] for e in events}


@pytest.fixture(scope="module")
def shared() -> Iterator[OursEnv]:
    ours = OursEnv(seed=5)
    yield ours
    ours.close()


# a send: None = no distinctId, else a caller id (some shaped like the ids Ours generates)
SENDS = st.lists(
    st.none() | st.sampled_from([f"ours_evt_{n:06d}" for n in range(1, 6)] + ["order-1"]),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sends=SENDS)
def test_every_send_without_distinct_id_is_its_own_event(
    shared: OursEnv, sends: list[str | None]
) -> None:
    """Ids are deduplicated among caller-supplied ones only; an id-less send is never lost."""
    shared.reset()
    for n, distinct in enumerate(sends):
        body = {"event": "lead_created", "email": f"p{n}@example.com"}
        assert (
            shared.track(**body, **({"distinctId": distinct} if distinct else {})).status_code
            == 200
        )
    events = shared.events()
    callers = {d for d in sends if d is not None}
    assert len(events) == len(callers) + sends.count(None)
    assert len({e["distinct_id"] for e in events}) == len(events)


def test_distinct_id_is_scoped_per_mode(env: OursEnv) -> None:
    body = {"event": "lead_created", "email": "a@example.com", "distinctId": "same"}
    env.track(**body)
    env.track(env.test_token, **body)
    assert sorted(e["mode"] for e in env.events()) == ["live", "test"]


def test_unknown_keys_are_accepted_and_properties_is_an_alias(env: OursEnv) -> None:
    response = env.track(
        event="lead_created", email="a@example.com", properties={"source": "web"}, colour="blue"
    )
    assert response.status_code == 200
    [event] = env.events()
    assert event["properties"] == {"source": "web"}


def test_event_properties_limits(env: OursEnv) -> None:
    too_many = {f"k{i}": i for i in range(201)}
    assert env.track(event="e", email="a@example.com", eventProperties=too_many).status_code == 400
    deep: dict = {"v": 1}
    for _ in range(5):
        deep = {"d": deep}
    assert env.track(event="e", email="a@example.com", eventProperties=deep).status_code == 400
    ok = {"a": {"b": {"c": {"d": 1}}}, "list": list(range(300)), "": "dropped"}
    assert env.track(event="lead_created", email="a@example.com", eventProperties=ok).is_success
    [event] = env.events()
    assert len(event["properties"]["list"]) == 250 and "" not in event["properties"]


def test_whitespace_is_trimmed_before_validation(env: OursEnv) -> None:
    assert env.track(f"  {env.token}  ", event=" lead_created ", email=" a@example.com ").is_success
    [event] = env.events()
    assert (event["event"], event["identifiers"]["email"]) == ("lead_created", "a@example.com")


def test_journal_records_tenant_and_masks_token_and_phi(env: OursEnv) -> None:
    env.track(
        event="lead_created",
        email="pat@example.com",
        externalId="mrn-1",
        userProperties={"phone_number": "+1 (312) 555-0100", "first_name": "Pat"},
    )
    [entry] = env.admin("GET", "/journal")["items"]
    assert entry["tenant"] == "default" and entry["status"] == 200
    body = entry["request_body"]
    assert body["token"] == body["email"] == body["externalId"] == "***"
    assert body["userProperties"] == {"phone_number": "***", "first_name": "***"}


def test_a_fault_answers_the_vendor_error_shape(env: OursEnv) -> None:
    env.admin("POST", "/faults", json={"path": "/api/v1/track", "status": 429, "times": 1})
    first = env.track(event="lead_created", email="a@example.com")
    assert (first.status_code, first.json()["success"]) == (429, False)
    assert env.track(event="lead_created", email="a@example.com").status_code == 200


def test_openapi_is_served(env: OursEnv) -> None:
    spec = env.client.get("/api/v1/openapi").json()
    assert spec["openapi"].startswith("3.1") and "/track" in spec["paths"]


@pytest.mark.parametrize("field", ["eventProperties", "userProperties", "defaultProperties"])
@pytest.mark.parametrize("depth", [40, 5000])
def test_deeply_nested_bodies_are_400_not_500(env: OursEnv, field: str, depth: int) -> None:
    nested = "[" * depth + "]" * depth
    raw = (
        f'{{"token": "{env.token}", "event": "lead_created", "email": "a@example.com", '
        f'"{field}": {{"x": {nested}}}}}'
    )
    response = env.client.post(
        "/api/v1/track", content=raw.encode(), headers={"content-type": "application/json"}
    )
    assert (response.status_code, response.json()["success"]) == (400, False)
    [entry] = env.admin("GET", "/journal")["items"]
    assert entry["status"] == 400
    assert env.events() == []
