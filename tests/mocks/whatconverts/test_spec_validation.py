"""Issue 4: the fake validates requests against mocks/whatconverts/openapi.yaml and its responses
conform. Order: 401, the limits, the documented checks, then the spec as the catch-all."""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careflow.contracts import assert_conforms
from careflow.mocks.whatconverts.models import LEAD_TYPES, QUOTABLE
from careflow.mocks.whatconverts.responses import PREFIX, request_validator

from .conftest import WCEnv

SPEC = request_validator()
CREATE_FIELDS = set(SPEC.resolve({"$ref": "#/components/schemas/LeadCreate"})["properties"])
DISPLAY = {v: k for k, v in {**LEAD_TYPES, **QUOTABLE}.items()}


def as_create_form(lead: dict) -> dict[str, str]:
    """A seeded lead as the form a client would have posted to create it (request enums)."""
    form = {}
    for name, value in lead.items():
        if name in CREATE_FIELDS and value not in (None, "", []) and not isinstance(value, dict):
            form[name] = DISPLAY.get(value, value) if name in ("lead_type", "quotable") else value
    return {k: str(v) for k, v in form.items()}


def test_every_seeded_lead_as_a_create_request_passes_the_spec(env: WCEnv) -> None:
    for lead in env.state.leads.values():
        form = as_create_form(lead)
        assert SPEC.problem("POST", f"{PREFIX}/leads", {}, form) is None, form


@pytest.mark.parametrize(
    ("method", "path", "query", "body"),
    [
        ("GET", "/leads", {"leads_per_page": "2500", "order": "asc", "page_number": "2"}, None),
        ("GET", "/leads", {"start_date": "2026-01-01", "end_date": "2026-03-01T10:00:00Z"}, None),
        (
            "GET",
            "/leads",
            {"lead_type": "phone_call", "quotable": "not_set", "spam": "false"},
            None,
        ),
        ("GET", "/leads/100001", {"customer_journey": "true"}, None),
        ("POST", "/leads", {}, {"lead_type": "web_form", "additional_fields": {"Reason": "x"}}),
        ("POST", "/leads", {}, {"lead_type": "phone_call", "answer_status": "No Answer"}),
        ("POST", "/leads/100001", {}, {"quote_value": "12.5", "custom_fields": {"A": "b"}}),
        ("POST", "/accounts", {}, {"account_name": "North", "create_profile": "true"}),
    ],
)
def test_representative_requests_pass_the_spec(method, path, query, body) -> None:
    assert SPEC.problem(method, PREFIX + path, query, body) is None


def test_a_request_only_the_spec_refuses_gets_a_400_naming_it_and_changes_nothing(
    env: WCEnv,
) -> None:
    before = copy.deepcopy((env.state.leads, env.state.next_ids))
    bad = env.profile.post("/leads", data={"lead_type": "phone_call", "answer_status": "Maybe"})
    assert bad.status_code == 400
    assert bad.json()["error_message"].startswith("Invalid answer_status parameter: ")
    negative = env.profile.post(
        "/leads", data={"lead_type": "phone_call", "call_duration_seconds": "-3"}
    )
    assert negative.status_code == 400 and "call_duration_seconds" in negative.text
    assert (env.state.leads, env.state.next_ids) == before


def test_the_documented_checks_come_before_the_spec(env: WCEnv) -> None:
    assert env.anon.post("/leads", data={"answer_status": "Maybe"}).status_code == 401
    # the hand-written message wins where both apply
    over = env.profile.get("/leads", params={"leads_per_page": 2501}).json()
    assert over == {"error_message": "Invalid leads_per_page parameter: the maximum is 2500."}
    lead_id = min(env.state.leads)
    edit = env.profile.post(f"/leads/{lead_id}", data={"lead_source": "x"}).json()
    assert edit["error_message"].startswith("Field 'lead_source' cannot be updated")


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.dictionaries(
        st.sampled_from(sorted(CREATE_FIELDS - {"profile_id", "lead_type"})),
        st.text(alphabet="abc-1. ", max_size=6),
        max_size=4,
    ),
    st.sampled_from(list(LEAD_TYPES)),
)
def test_a_refused_create_changes_nothing(env: WCEnv, fields: dict, lead_type: str) -> None:
    before = copy.deepcopy((env.state.leads, env.state.next_ids))
    response = env.profile.post("/leads", data={"lead_type": lead_type, **fields})
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert set(response.json()) == {"error_message"}
        assert (env.state.leads, env.state.next_ids) == before
    assert_conforms(response, "whatconverts")


def test_responses_for_every_seeded_lead_type_conform(env: WCEnv) -> None:
    listing = env.profile.get("/leads", params={"leads_per_page": 2500})
    assert {lead["lead_type"] for lead in listing.json()["leads"]} == set(LEAD_TYPES.values())
    assert_conforms(listing, "whatconverts")
    lead_id = listing.json()["leads"][0]["lead_id"]
    assert_conforms(env.profile.get(f"/leads/{lead_id}?customer_journey=true"), "whatconverts")
    for lead_type in LEAD_TYPES:
        assert_conforms(env.profile.post("/leads", data={"lead_type": lead_type}), "whatconverts")
