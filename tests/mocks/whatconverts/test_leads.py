"""Leads (whatconverts.md): auth (§2), list filters and envelope (§5.1, §5.2), get (§5.3),
create (§5.4)."""

from __future__ import annotations

from .conftest import WCEnv


def test_auth_messages(env: WCEnv) -> None:
    missing = env.anon.get("/leads")
    assert missing.status_code == 401
    assert missing.json() == {"error_message": "Authentication not provided."}
    wrong = env.api_client(env.creds["api_token"], "not-the-secret").get("/leads")
    assert wrong.status_code == 401
    assert wrong.json() == {"error_message": "Authentication failed."}
    unknown = env.api_client("sbx_nobody", "x").get("/leads")
    assert unknown.json() == {"error_message": "Authentication failed."}


def test_envelope_key_order_and_defaults(env: WCEnv) -> None:
    body = env.profile.get("/leads").json()
    assert list(body) == ["page_number", "leads_per_page", "total_pages", "total_leads", "leads"]
    assert body["page_number"] == 1 and body["leads_per_page"] == 25
    assert body["total_leads"] == len(env.state.leads)
    created = [lead["date_created"] for lead in body["leads"]]
    assert created == sorted(created, reverse=True)  # desc by default


def test_page_size_limit(env: WCEnv) -> None:
    assert env.profile.get("/leads", params={"leads_per_page": 2500}).status_code == 200
    over = env.profile.get("/leads", params={"leads_per_page": 2501})
    assert over.status_code == 400 and "2500" in over.json()["error_message"]
    assert env.profile.get("/leads", params={"page_number": 0}).status_code == 400


def test_date_range_may_span_400_days(env: WCEnv) -> None:
    ok = env.profile.get("/leads", params={"start_date": "2025-01-01", "end_date": "2026-02-05"})
    assert ok.status_code == 200
    too_long = env.profile.get(
        "/leads", params={"start_date": "2025-01-01", "end_date": "2026-02-06"}
    )
    assert too_long.status_code == 400 and "400 days" in too_long.json()["error_message"]
    backwards = env.profile.get(
        "/leads", params={"start_date": "2026-02-01", "end_date": "2026-01-01"}
    )
    assert backwards.status_code == 400


def test_filters_take_request_enums_and_answer_display_names(env: WCEnv) -> None:
    calls = env.profile.get("/leads", params={"lead_type": "phone_call", "leads_per_page": 2500})
    leads = calls.json()["leads"]
    assert leads and {lead["lead_type"] for lead in leads} == {"Phone Call"}
    assert all("call_duration_seconds" in lead for lead in leads)
    bad = env.profile.get("/leads", params={"lead_type": "Phone Call"})
    assert bad.status_code == 400 and bad.json() == {
        "error_message": "Invalid lead_type parameter."
    }
    for value, shown in (("not_set", "Not Set"), ("yes", "Yes")):
        got = env.profile.get("/leads", params={"quotable": value, "leads_per_page": 2500})
        assert {lead["quotable"] for lead in got.json()["leads"]} <= {shown}
    some = next(iter(env.state.leads.values()))
    by_email = env.profile.get("/leads", params={"email_address": some["email_address"].upper()})
    assert some["lead_id"] in [lead["lead_id"] for lead in by_email.json()["leads"]]


def test_profile_key_sees_its_profile_master_sees_all(env: WCEnv) -> None:
    other = env.master.post("/accounts", data={"account_name": "Other", "create_profile": "true"})
    other_profile = other.json()["profiles"][0]["profile_id"]
    made = env.master.post(
        "/leads", data={"profile_id": other_profile, "lead_type": "chat", "contact_name": "X"}
    )
    assert made.status_code == 200
    lead_id = made.json()["lead_id"]
    # a profile key ignores profile_id and never sees another profile's lead
    mine = env.profile.get("/leads", params={"profile_id": other_profile, "leads_per_page": 2500})
    assert lead_id not in [lead["lead_id"] for lead in mine.json()["leads"]]
    hidden = env.profile.get(f"/leads/{lead_id}")
    assert hidden.status_code == 400 and hidden.json() == {"error_message": "Invalid lead ID."}
    everything = env.master.get("/leads", params={"leads_per_page": 2500}).json()
    assert lead_id in [lead["lead_id"] for lead in everything["leads"]]
    # an agency key must say which profile a new lead belongs to
    no_profile = env.master.post("/leads", data={"lead_type": "chat"})
    assert no_profile.status_code == 400 and "profile_id" in no_profile.json()["error_message"]


def test_get_lead_is_the_envelope_with_an_optional_journey(env: WCEnv) -> None:
    lead_id = min(env.state.leads)
    body = env.profile.get(f"/leads/{lead_id}", params={"customer_journey": "true"}).json()
    assert body["total_leads"] == 1 and body["leads"][0]["lead_id"] == lead_id
    assert [step["type"] for step in body["leads"][0]["customer_journey"]] == [
        "attribution",
        "lead",
    ]
    plain = env.profile.get(f"/leads/{lead_id}").json()["leads"][0]
    assert "customer_journey" not in plain
    assert env.profile.get("/leads/999").json() == {"error_message": "Invalid lead ID."}
    assert env.profile.delete(f"/leads/{lead_id}").status_code in (404, 405)  # no delete


def test_create_form_encoded_with_bracketed_maps(env: WCEnv) -> None:
    env.clock.advance(90)
    made = env.profile.post(
        "/leads",
        data={
            "lead_type": "web_form",
            "form_name": "New patient intake",
            "contact_name": "Pat Example",
            "email_address": "pat@example.com",
            "quotable": "pending",
            "quote_value": "125.50",
            "additional_fields[Preferred Time]": "Morning",
            "additional_fields[Insurance]": "Self-pay",
        },
    )
    assert made.status_code == 200, made.text
    lead = made.json()
    assert lead["lead_type"] == "Web Form" and lead["quotable"] == "Pending"
    assert lead["quote_value"] == 125.5 and lead["form_name"] == "New patient intake"
    assert lead["additional_fields"] == {"Preferred Time": "Morning", "Insurance": "Self-pay"}
    assert lead["date_created"] == lead["last_updated"] == "2026-03-02T12:01:30Z"
    assert lead["user_id"].startswith(f"{lead['profile_id']}-")
    assert env.profile.get(f"/leads/{lead['lead_id']}").json()["leads"][0] == lead


def test_create_accepts_json_too(env: WCEnv) -> None:
    made = env.profile.post(
        "/leads",
        json={
            "lead_type": "phone_call",
            "caller_number": "+15555550100",
            "call_duration_seconds": 42,
        },
    )
    assert made.status_code == 200, made.text
    assert made.json()["call_duration"] == "42 seconds"


def test_create_uses_default_fields_only(env: WCEnv) -> None:
    before = dict(env.state.leads)
    cases = {
        (("contact_name", "X"),): "lead_type",  # lead_type is required
        (("lead_type", "web_form"), ("favourite_colour", "blue")): "favourite_colour",
        (("lead_type", "web_form"), ("caller_number", "+15555550100")): "caller_number",
        (("lead_type", "meeting"),): "lead_type",
        (("lead_type", "chat"), ("quotable", "maybe")): "quotable",
        (("lead_type", "chat"), ("quote_value", "lots")): "quote_value",
        (("lead_type", "chat"), ("lead_source[x]", "y")): "lead_source",
    }
    for fields, named in cases.items():
        refused = env.profile.post("/leads", data=dict(fields))
        assert refused.status_code == 400, fields
        assert named in refused.json()["error_message"], refused.json()
    wrong_type = env.profile.post(
        "/leads", data={"lead_type": "web_form", "caller_number": "+15555550100"}
    )
    assert "phone_call" in wrong_type.json()["error_message"]  # says where the field belongs
    assert env.state.leads == before  # nothing was created


def test_a_start_date_alone_is_measured_up_to_now(env: WCEnv) -> None:
    """§3 400-day cap; the clock stands at 2026-03-02, 400 days after 2025-01-26."""
    assert env.profile.get("/leads", params={"start_date": "2025-01-26"}).status_code == 200
    old = env.profile.get("/leads", params={"start_date": "2025-01-25"})
    assert old.status_code == 400 and "400 days" in old.json()["error_message"]
    assert env.profile.get("/leads", params={"end_date": "2020-01-01"}).status_code == 200


def test_a_lead_cannot_be_created_in_the_future(env: WCEnv) -> None:
    count = len(env.state.leads)
    future = env.profile.post(
        "/leads", data={"lead_type": "chat", "date_created": "2026-03-02T12:00:01Z"}
    )
    assert future.json() == {
        "error_message": "Invalid date_created parameter: it is in the future."
    }
    assert len(env.state.leads) == count
    now = env.profile.post("/leads", data={"lead_type": "chat", "date_created": "2026-03-02"})
    assert now.status_code == 200 and now.json()["date_created"] == "2026-03-02T00:00:00Z"


def test_a_lead_from_before_year_1000_keeps_a_four_digit_year(env: WCEnv) -> None:
    """[C] §1 dates are ``YYYY-MM-DDTHH:MM:SSZ``: the year is zero-padded (strftime's %Y is
    not, on glibc), so the contract's pattern holds and the string order stays the time order.
    Found by the schemathesis contract test (a generated date_created of year 73)."""
    import re

    from careflow.mocks.whatconverts.responses import vendor_spec

    lead_schema = vendor_spec()["components"]["schemas"]["Lead"]["properties"]
    pattern = re.compile(lead_schema["date_created"]["pattern"])
    made = env.profile.post(
        "/leads",
        data={"lead_type": "appointment", "date_created": "0073-07-16T18:59:49+14:34"},
    )
    assert made.status_code == 200, made.text
    lead = made.json()
    assert lead["date_created"] == lead["last_updated"] == "0073-07-16T04:25:49Z"
    assert pattern.match(lead["date_created"]) and pattern.match(lead["last_updated"])
    newest_first = env.profile.get("/leads", params={"leads_per_page": 2500}).json()["leads"]
    assert newest_first[-1]["lead_id"] == lead["lead_id"]  # the oldest lead, not the newest
    early = env.profile.get("/leads", params={"end_date": "0100-01-01"}).json()
    assert [x["lead_id"] for x in early["leads"]] == [lead["lead_id"]]


def test_a_date_beyond_the_calendar_in_utc_is_a_400(env: WCEnv) -> None:
    """A valid ISO date-time whose UTC instant falls outside years 1..9999 names the parameter
    (it used to overflow into a 500)."""
    count = len(env.state.leads)
    early = env.profile.post(
        "/leads", data={"lead_type": "chat", "date_created": "0001-01-01T00:30:00+01:00"}
    )
    assert early.status_code == 400
    assert early.json() == {"error_message": "Invalid date_created parameter."}
    assert len(env.state.leads) == count
    late = env.profile.get("/leads", params={"end_date": "9999-12-31T23:30:00-01:00"})
    assert late.status_code == 400
    assert late.json() == {"error_message": "Invalid end_date parameter."}


def test_leads_have_no_delete_and_the_router_answers_404(env: WCEnv) -> None:
    """[C] §5 no DELETE /leads/{id}; §12 answer 404 like the real router (not 405)."""
    lead_id = min(env.state.leads)
    for method in ("DELETE", "PUT", "PATCH"):
        gone = env.profile.request(method, f"/leads/{lead_id}")
        assert gone.status_code == 404 and set(gone.json()) == {"error_message"}
    assert lead_id in env.state.leads
