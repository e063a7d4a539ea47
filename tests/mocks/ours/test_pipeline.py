"""The pipeline: allow-list → governance → mappings → destinations (ours-privacy.md §9)."""

from __future__ import annotations

import hashlib

import pytest

from careflow.mocks.ours.destinations import Destination
from careflow.mocks.ours.pipeline import build_payload, evaluate, modify, render

from .conftest import OursEnv


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_processing_is_asynchronous_accepted_then_processed(env: OursEnv) -> None:
    state = env.backend.state()

    async def send_and_peek() -> str:
        import httpx

        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=env.app), base_url="http://t"
        ) as client:
            await client.post(
                "/api/v1/track",
                json={"token": env.token, "event": "lead_created", "email": "a@example.com"},
            )
        return state.events[-1]["status"]

    assert env.loop.run(send_and_peek()) == "accepted"
    env.settle()
    assert state.events[-1]["status"] == "dispatched"


def test_allow_list_is_case_insensitive_and_unlisted_events_are_dropped_unseen(
    env: OursEnv,
) -> None:
    env.track(event="LEAD_Created", email="a@example.com")
    env.track(event="page_viewed", email="a@example.com")
    env.track(env.test_token, event="page_viewed", email="a@example.com")
    events = env.events()
    assert [e["event"] for e in events] == ["LEAD_Created"]
    assert [d["event"] for d in env.dispatches()] == ["LEAD_Created", "LEAD_Created"]


def test_allowed_event_goes_only_to_its_destinations(env: OursEnv) -> None:
    env.track(event="lead_updated", email="a@example.com")  # meta only in the seed
    env.track(event="appointment_booked", email="a@example.com")  # both
    assert [(d["event"], d["destination"]) for d in env.dispatches()] == [
        ("lead_updated", "meta-capi"),
        ("appointment_booked", "meta-capi"),
        ("appointment_booked", "google-ads"),
    ]
    assert env.events()[1]["destinations"] == ["meta-capi", "google-ads"]


def test_governance_stops_dispatch_for_rejected_consent(env: OursEnv) -> None:
    consent = {"consent": {"rejected_categories": ["advertising"]}}
    env.track(event="lead_created", email="no@example.com", userProperties=consent)
    env.track(event="lead_created", email="yes@example.com")
    blocked, sent = env.events()
    assert blocked["status"] == "processed" and blocked["destinations"] == []
    assert blocked["blocked_by_governance"] == ["google-ads", "meta-capi"]
    assert {d["event_id"] for d in env.dispatches()} == {sent["id"]}


def test_default_mappings_hash_phi(env: OursEnv) -> None:
    env.track(
        event="lead_created",
        email="Pat@Example.com",
        externalId="mrn-1",
        userProperties={"phone_number": "+1 (312) 555-0100", "first_name": "Pat"},
        eventProperties={"lead_id": 7, "email": "pat@example.com", "phone": "555-0100"},
    )
    meta, google = env.dispatches()
    user = meta["payload"]["user_data"]
    assert user["em"] == sha("pat@example.com")
    assert user["ph"] == sha("13125550100")
    assert user["external_id"] == sha("mrn-1")
    assert meta["payload"]["event_name"] == "lead_created"
    assert meta["payload"]["event_time"] == 1767268800
    # PHI inside free-form properties is hashed too; other values pass through
    assert meta["payload"]["custom_data"]["lead_id"] == 7
    assert meta["payload"]["custom_data"]["email"] == sha("pat@example.com")
    assert google["payload"]["user_identifiers"]["hashed_email"] == sha("pat@example.com")
    text = str([meta, google])
    assert "pat@example.com" not in text.lower() and "555-0100" not in text and "Pat" not in text


def test_custom_mapping_with_templates_modifications_and_logic(env: OursEnv) -> None:
    env.admin(
        "POST",
        "/destinations",
        json={
            "id": "ga4",
            "type": "GA4MeasurementProtocol",
            "mappings": [
                {"property": "name", "map": "{{ event.event }}", "modification": "UpperCase"},
                {"property": "label", "map": "lead {{ event.event_properties.lead_id }}"},
                {"property": "value", "map": "{{ event.event_properties.value }}"},
                {"property": "em", "map": "{{ visitor.email }}", "modification": "Redacted"},
                {"property": "city", "map": "{{ visitor.city }}", "modification": "LowerCase"},
                {"property": "fixed", "map": "constant"},
                {"property": "missing", "map": "{{ visitor.nothing.deeper }}"},
                {
                    "property": "vip",
                    "map": "yes",
                    "logic": {
                        "path": "event.event_properties.value",
                        "operator": "IsGreaterThan",
                        "value": 100,
                    },
                },
            ],
        },
    )
    env.admin(
        "PUT",
        "/allowed-events",
        json={"items": [{"name": "sale_completed", "destinationIds": ["ga4"]}]},
    )
    env.track(
        event="sale_completed",
        email="a@example.com",
        userProperties={"city": "Austin"},
        eventProperties={"lead_id": 9, "value": 250.5},
    )
    [dispatch] = env.dispatches()
    assert dispatch["payload"] == {
        "name": "SALE_COMPLETED",
        "label": "lead 9",
        "value": 250.5,
        "em": "REDACTED",
        "city": "austin",
        "fixed": "constant",
        "vip": "yes",
    }


def test_explicit_none_modification_opts_out_of_default_hashing(env: OursEnv) -> None:
    env.admin(
        "POST",
        "/destinations",
        json={
            "id": "raw",
            "type": "Facebook",
            "phiDefault": "redact",
            "mappings": [
                {"property": "email", "map": "{{ visitor.email }}", "modification": "None"},
                {"property": "phone", "map": "{{ visitor.phone_number }}"},
            ],
        },
    )
    env.admin(
        "PUT",
        "/allowed-events",
        json={"items": [{"name": "lead_created", "destinationIds": ["raw"]}]},
    )
    env.track(
        event="lead_created", email="a@example.com", userProperties={"phone_number": "555-0100"}
    )
    [dispatch] = env.dispatches()
    assert dispatch["payload"] == {"email": "a@example.com", "phone": "REDACTED"}


def test_http_destination_posts_to_loopback_through_the_kernel_client(env: OursEnv) -> None:
    env.add_http_destination(["lead_created"])
    env.track(
        event="lead_created",
        email="a@example.com",
        distinctId="d-1",
        eventProperties={"lead_id": 3},
    )
    env.track(event="lead_updated", email="a@example.com")
    env.settle()
    assert env.received == [
        {
            "event": "lead_created",
            "distinct_id": "d-1",
            "time": "2026-01-01T12:00:00Z",
            "visitor_id": env.events()[0]["visitor_id"],
            "email_sha256": sha("a@example.com"),
            "properties": {"lead_id": 3},
        }
    ]
    [delivery] = env.admin("GET", "/webhooks/deliveries")["items"]
    assert delivery["status"] == "delivered" and delivery["destination"] == "crm-hook"
    http = env.dispatches(destination="crm-hook")
    assert [d["sink"] for d in http] == ["http"]


def test_http_destination_to_a_remote_host_is_refused(env: OursEnv) -> None:
    env.admin(
        "POST",
        "/destinations",
        json={
            "id": "remote",
            "type": "HTTPDestination",
            "settings": {"url": "https://crm.invalid/hook"},
        },
    )
    env.admin(
        "PUT",
        "/allowed-events",
        json={"items": [{"name": "lead_created", "destinationIds": ["remote"]}]},
    )
    env.track(event="lead_created", email="a@example.com")
    env.settle()
    [delivery] = env.admin("GET", "/webhooks/deliveries")["items"]
    assert delivery["status"] == "refused" and env.received == []


def test_bad_configuration_is_refused(env: OursEnv) -> None:
    bad = [
        ("/allowed-events", "PUT", {"items": [{"name": "$pageview", "destinationIds": []}]}),
        ("/allowed-events", "PUT", {"items": [{"name": "x", "destinationIds": ["nope"]}]}),
        ("/destinations", "POST", {"id": "d", "type": "Fax"}),
        ("/destinations", "POST", {"id": "d", "type": "HTTPDestination"}),
    ]
    for path, method, body in bad:
        assert env.client.request(method, f"/__sandbox{path}", json=body).status_code == 422
    assert len(env.admin("GET", "/allowed-events")["items"]) > 5


def test_recent_events_filters(env: OursEnv) -> None:
    env.track(event="lead_created", email="Ann@example.com")
    env.track(env.test_token, event="patient_intake", email="bob@example.com")
    env.track(event="quote_added", externalId="p-1")
    assert [e["event"] for e in env.events(event="LEAD_CREATED")] == ["lead_created"]
    assert [e["event"] for e in env.events(email="ann@example.com")] == ["lead_created"]
    assert [e["event"] for e in env.events(mode="test")] == ["patient_intake"]
    vid = env.events()[2]["visitor_id"]
    assert [e["event"] for e in env.events(visitor_id=vid)] == ["quote_added"]
    assert len(env.events(source="src_demo")) == 3 and env.events(source="other") == []
    assert [d["event"] for d in env.dispatches(event="quote_added", destination="google-ads")] == [
        "quote_added"
    ]


# --- units -------------------------------------------------------------------------------------


def test_templates_run_in_jinja2_sandbox() -> None:
    context = {"event": {"event": "x"}, "visitor": {}}
    assert render("plain text", context) == "plain text"
    assert render("{{ visitor.missing }}", context) is None
    assert render("{{ event.__class__.__mro__ }}", context) is None  # unsafe → undefined
    assert render("{{ event.event.format }}", context) is None  # dotted paths read data only
    for template in (
        "{{ ''.__class__.__subclasses__() }}",
        "{{ (event.event).format }}",  # a function is no JSON value
        "{{ range(10**9) | list }}",
    ):
        with pytest.raises(ValueError, match="mapping template"):
            render(template, context)


def test_a_broken_mapping_skips_its_destination_only(env: OursEnv) -> None:
    env.admin(
        "POST",
        "/destinations",
        json={
            "id": "bad",
            "type": "HTTPDestination",
            "settings": {"url": "http://127.0.0.1:9/h"},
            "mappings": [{"property": "x", "map": "{{ ''.__class__.__subclasses__() }}"}],
        },
    )
    env.admin(
        "PUT",
        "/allowed-events",
        json={"items": [{"name": "lead_created", "destinationIds": ["bad", "meta-capi"]}]},
    )
    env.track(event="lead_created", email="a@example.com")
    [event] = env.events()
    assert event["destinations"] == ["meta-capi"]
    assert event["errors"][0]["destination"] == "bad"


@pytest.mark.parametrize(
    ("value", "modification", "expected"),
    [
        (" Pat@Example.com ", "HashedNormalized", sha("pat@example.com")),
        ("abc", "Hash", sha("abc")),
        ("+1 (312) 555-0100", "HashedPhone", sha("13125550100")),
        ("secret", "Redacted", "REDACTED"),
        ("secret", "Null", None),
        ("Lead Created", "LowerCase", "lead created"),
        ("Lead Created", "SnakeCase", "lead_created"),
        ("lead_created", "CamelCase", "leadCreated"),
        ("lead created", "KebabCase", "lead-created"),
        ("https://x.example.com/a?b=1", "DomainOnly", "x.example.com"),
    ],
)
def test_modifications(value: str, modification: str, expected: object) -> None:
    assert modify(value, modification) == expected


def test_logic_trees() -> None:
    ctx = {
        "visitor": {"consent": {"rejected_categories": ["advertising"]}, "age": 40},
        "event": {"event": "lead_created"},
    }
    leaf = {
        "path": "visitor.consent.rejected_categories",
        "operator": "Contains",
        "value": "advertising",
    }
    assert evaluate(leaf, ctx)
    assert evaluate({"path": "$event.event", "operator": "StartsWith", "value": "lead"}, ctx)
    assert evaluate(
        {
            "operator": "AND",
            "conditions": [
                leaf,
                {"path": "visitor.age", "operator": "IsGreaterThanOrEqual", "value": 18},
            ],
        },
        ctx,
    )
    assert not evaluate({"operator": "NOT", "conditions": [leaf]}, ctx)
    assert evaluate(
        {
            "operator": "OR",
            "conditions": [
                {"path": "visitor.none", "operator": "IsNotNull"},
                {"path": "visitor.none", "operator": "IsNull"},
            ],
        },
        ctx,
    )
    with pytest.raises(ValueError):
        evaluate({"path": "x", "operator": "Sorta"}, ctx)


def test_an_unexpected_pipeline_failure_marks_the_event_and_keeps_going(
    env: OursEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    from careflow.mocks.ours import pipeline

    calls = iter([RuntimeError("boom")])

    def flaky(destination, context):  # type: ignore[no-untyped-def]
        error = next(calls, None)
        if error:
            raise error
        return real(destination, context)

    real = pipeline.build_payload
    monkeypatch.setattr(pipeline, "build_payload", flaky)
    env.track(event="lead_created", email="a@example.com")
    env.track(event="lead_created", email="b@example.com")
    first, second = env.events()
    assert first["status"] == "error" and "boom" in first["errors"][0]["error"]
    assert second["status"] == "dispatched"


def test_a_mapping_nested_into_a_rendered_object_leaves_the_event_unchanged() -> None:
    props = {"lead_id": 1}
    destination = Destination.parse(
        {
            "id": "d",
            "type": "Facebook",
            "mappings": [
                {"property": "custom_data", "map": "{{ event.event_properties }}"},
                {"property": "custom_data.source", "map": "keragon"},
                {"property": "custom_data.again", "map": "{{ event.event_properties }}"},
            ],
        }
    )
    payload = build_payload(destination, {"event": {"event_properties": props}, "visitor": {}})
    assert payload == {"custom_data": {"lead_id": 1, "source": "keragon", "again": {"lead_id": 1}}}
    assert props == {"lead_id": 1}
