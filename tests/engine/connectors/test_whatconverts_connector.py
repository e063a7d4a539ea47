from datetime import timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from careflow.engine.connectors import StepError
from careflow.engine.connectors.base import validate_params
from careflow.engine.connectors.whatconverts import (
    UPDATABLE,
    CreateLead,
    CreateLeadParams,
    GetLead,
    GetLeadParams,
    GetLeads,
    GetLeadsParams,
    LeadTriggerParams,
    NewLead,
    UpdatedLead,
    UpdateLead,
    UpdateLeadParams,
)


def create(h, ctx, **fields):
    params = validate_params(
        CreateLeadParams,
        {"profile_id": 101, "lead_type": "web_form", "send_notification": False, **fields},
    )
    return h.run(CreateLead().run(ctx, params))


def test_create_get_and_get_leads_by_email(harness):
    h = harness("whatconverts")
    ctx = h.context("whatconverts")
    lead = create(h, ctx, contact_name="Lee Example", email_address="lee@example.com")
    assert lead["lead_type"] == "Web Form"
    got = h.run(
        GetLead().run(
            ctx, validate_params(GetLeadParams, {"profile_id": 101, "lead_id": lead["lead_id"]})
        )
    )
    assert got["lead_id"] == lead["lead_id"]
    found = h.run(
        GetLeads().run(
            ctx,
            validate_params(
                GetLeadsParams, {"profile_id": 101, "email": "lee@example.com", "max_items": 1}
            ),
        )
    )
    assert found["count"] == 1 and found["leads"][0]["lead_id"] == lead["lead_id"]


def test_create_lead_refuses_custom_fields_at_save():
    problems = CreateLead.check(
        {
            "profile_id": 101,
            "lead_type": "chat",
            "send_notification": True,
            "additional_fields": {"x": 1},
        }
    )
    assert [p.field for p in problems] == ["additional_fields"]
    assert "default fields only" in problems[0].message
    assert [p.field for p in CreateLead.check({"profile_id": 101})] == [
        "lead_type",
        "send_notification",
    ]


def test_update_lead_changes_the_four_fields(harness):
    h = harness("whatconverts")
    ctx = h.context("whatconverts")
    lead = create(h, ctx)
    params = validate_params(
        UpdateLeadParams,
        {
            "profile_id": 101,
            "lead_id": lead["lead_id"],
            "quote_value": 300,
            "sales_value": 250,
            "lead_url": "https://clinic.example.com/a",
            "quotable": "yes",
        },
    )
    updated = h.run(UpdateLead().run(ctx, params))
    assert (updated["quote_value"], updated["sales_value"], updated["quotable"]) == (
        300,
        250,
        "Yes",
    )


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    extra=st.dictionaries(
        st.text(
            st.characters(categories=["Ll", "Nd"], include_characters="_"), min_size=1, max_size=20
        ).filter(lambda k: k not in {"profile_id", "lead_id", *UPDATABLE, "key"}),
        st.one_of(st.text(max_size=10), st.integers()),
        min_size=1,
        max_size=3,
    )
)
def test_no_field_outside_the_four_ever_reaches_the_fake(harness, extra):
    h = harness("whatconverts")
    base = {"profile_id": 101, "lead_id": 1, "quote_value": 10}
    assert {p.field for p in UpdateLead.check({**base, **extra})} >= set(extra)
    with pytest.raises(StepError) as err:
        validate_params(UpdateLeadParams, {**base, **extra})
    assert not err.value.retryable
    assert h.kernel("whatconverts").journal.items() == []


def test_trigger_test_returns_last_five_minutes_newest_first_capped_at_500(harness, clock):
    h = harness("whatconverts")
    ctx = h.context("whatconverts")
    h.run(
        h.http.post(
            "http://127.0.0.1:8401/__sandbox/seed",
            json={"synthetic": {"leads": 30, "window_minutes": 60, "end_minutes_ago": 6}},
        )
    )
    h.run(
        h.http.post(
            "http://127.0.0.1:8401/__sandbox/seed",
            json={"synthetic": {"leads": 520, "window_minutes": 4}},
        )
    )
    sample = h.run(NewLead().sample(ctx, LeadTriggerParams(profile_id=101)))
    assert len(sample) == 500
    since = clock.now() - timedelta(minutes=5)
    dates = [s["date_created"] for s in sample]
    assert dates == sorted(dates, reverse=True)
    from careflow.engine.connectors.whatconverts import _instant

    assert all(_instant(d) >= since for d in dates)


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seconds_ago=st.lists(st.integers(0, 900), max_size=30),
    burst=st.sampled_from([0, 0, 0, 505]),
)
@example(seconds_ago=[0, 299, 300, 301, 900], burst=505)  # the edges and the cap, every run
def test_trigger_test_is_exactly_the_last_five_minutes_capped_newest_first(
    harness, clock, seconds_ago, burst
):
    """Any mix of creation times: the sample is the leads created in the last 5 minutes on the
    virtual clock, newest first, at most 500, checked against the fake's own full list."""
    h = harness("whatconverts")
    ctx = h.context("whatconverts")
    now = clock.now()
    times = [now - timedelta(seconds=s) for s in seconds_ago]
    times += [now - timedelta(seconds=30 + i % 200) for i in range(burst)]
    leads = [{"lead_type": "chat", "date_created": t.strftime("%Y-%m-%dT%H:%M:%SZ")} for t in times]
    if leads:
        seeded = h.run(h.http.post("http://127.0.0.1:8401/__sandbox/seed", json={"leads": leads}))
        assert seeded.status_code == 200, seeded.text
    c = h.credentials("whatconverts")
    listing = h.http.get(
        "http://127.0.0.1:8401/api/v1/leads",
        params={"leads_per_page": 2500},
        auth=(c["api_token"], c["api_secret"]),
    )
    everything = h.run(listing).json()
    assert everything["total_pages"] <= 1
    since = now - timedelta(minutes=5)
    from careflow.engine.connectors.whatconverts import _instant

    recent = [x for x in everything["leads"] if _instant(x["date_created"]) >= since]
    recent.sort(key=lambda x: (x["date_created"], x["lead_id"]), reverse=True)
    sample = h.run(NewLead().sample(ctx, LeadTriggerParams(profile_id=101)))
    assert len(sample) == min(500, len(recent))
    assert [x["lead_id"] for x in sample] == [x["lead_id"] for x in recent[:500]]


def test_new_lead_poll_starts_at_activation_and_dedups(harness, clock):
    h = harness("whatconverts")
    ctx = h.context("whatconverts")
    params = LeadTriggerParams(profile_id=101)
    trigger = NewLead()
    h.run(trigger.activate(ctx, params))
    assert h.run(trigger.poll(ctx, params)) == []  # the seeded history does not fire
    clock.advance(30)
    lead = create(h, ctx, contact_name="Fresh Lead")
    clock.advance(30)
    first = h.run(trigger.poll(ctx, params))
    assert [r["lead_id"] for r in first] == [lead["lead_id"]]
    assert h.run(trigger.poll(ctx, params)) == []


def test_updated_lead_poll_sees_edits_not_creations(harness, clock):
    h = harness("whatconverts")
    ctx = h.context("whatconverts")
    lead = create(h, ctx)
    trigger, params = UpdatedLead(), LeadTriggerParams(profile_id=101)
    clock.advance(10)
    h.run(trigger.activate(ctx, params))
    clock.advance(10)
    create(h, ctx)
    h.run(
        UpdateLead().run(
            ctx,
            validate_params(
                UpdateLeadParams, {"profile_id": 101, "lead_id": lead["lead_id"], "quote_value": 99}
            ),
        )
    )
    clock.advance(10)
    assert [r["lead_id"] for r in h.run(trigger.poll(ctx, params))] == [lead["lead_id"]]


def test_wrong_secret_fails_without_retry(harness):
    h = harness("whatconverts")
    ctx = h.context(
        "whatconverts", credentials={**h.credentials("whatconverts"), "api_secret": "sbx_wrong"}
    )
    with pytest.raises(StepError) as err:
        h.run(GetLeads().run(ctx, validate_params(GetLeadsParams, {"profile_id": 101})))
    assert (err.value.status, err.value.retryable) == (401, False)


DISPLAY = {"phone_call": "Phone Call", "web_form": "Web Form", "text_message": "Text Message"}


@settings(max_examples=40, deadline=None)
@given(
    wanted=st.sampled_from([None, *DISPLAY]),
    lead_type=st.sampled_from(list(DISPLAY)),
    profile_id=st.sampled_from([101, 202]),
    trigger=st.sampled_from([NewLead(), UpdatedLead()]),
)
def test_webhook_deliveries_pass_the_trigger_filters_as_polls_do(
    wanted, lead_type, profile_id, trigger
):
    params = LeadTriggerParams(profile_id=101, lead_type=wanted)
    lead = {
        "lead_id": 7,
        "profile_id": profile_id,
        "lead_type": DISPLAY[lead_type],
        "trigger": trigger.webhook_trigger,
    }
    got = trigger.receive(None, params, lead, {})
    expected = profile_id == 101 and wanted in (None, lead_type)
    assert got == ([lead] if expected else [])
