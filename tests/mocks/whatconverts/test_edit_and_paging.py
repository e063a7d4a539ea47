"""Edit may change only four fields (whatconverts.md §5.5), and paging is consistent for any
page size (§5.2); both as Hypothesis properties over generated requests."""

from __future__ import annotations

import copy
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careflow.mocks.whatconverts.models import COMMON_FIELDS, EDITABLE, TYPE_FIELDS

from .conftest import HOOK_URL, WCEnv

# Fields a lead carries that an edit must never touch (everything but the four and the maps).
FIXED = sorted(
    (COMMON_FIELDS | set().union(*TYPE_FIELDS.values()) | {"lead_type", "lead_status", "spam"})
    - set(EDITABLE)
)
VALUES = st.one_of(
    st.text(max_size=12),
    st.integers(-5, 10**6).map(str),
    st.sampled_from(["yes", "no", "pending", "not_set", "", "https://x.example.com/p"]),
)
EDIT_VALUE = {
    "quotable": st.sampled_from(["yes", "no", "pending", "not_set"]),
    "quote_value": st.integers(0, 10**6).map(str),
    "sales_value": st.decimals(0, 10**5, places=2).map(str),
    "lead_url": st.just("https://clinic.example.com/contact"),
}
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def test_each_of_the_four_fields_can_change(env: WCEnv) -> None:
    lead_id = min(env.state.leads)
    env.clock.advance(60)
    changed = env.profile.post(
        f"/leads/{lead_id}",
        data={
            "quotable": "yes",
            "quote_value": "450",
            "sales_value": "399.99",
            "lead_url": "https://clinic.example.com/book",
            "additional_fields[Follow up]": "Call back",
        },
    )
    assert changed.status_code == 200, changed.text
    lead = changed.json()
    assert (lead["quotable"], lead["quote_value"], lead["sales_value"]) == ("Yes", 450, 399.99)
    assert lead["lead_url"] == "https://clinic.example.com/book"
    assert lead["additional_fields"]["Follow up"] == "Call back"
    assert lead["last_updated"] == "2026-03-02T12:01:00Z" != lead["date_created"]


def test_a_fifth_field_is_refused_by_name_and_nothing_changes(env: WCEnv) -> None:
    lead_id = min(env.state.leads)
    before = copy.deepcopy(env.state.leads[lead_id])
    refused = env.profile.post(
        f"/leads/{lead_id}", data={"quote_value": "10", "lead_source": "google"}
    )
    assert refused.status_code == 400
    assert refused.json()["error_message"].startswith("Field 'lead_source' cannot be updated")
    assert env.state.leads[lead_id] == before
    empty = env.profile.post(f"/leads/{lead_id}", data={})
    assert empty.status_code == 400 and "At least one field" in empty.json()["error_message"]


@SETTINGS
@given(
    fixed=st.dictionaries(st.sampled_from(FIXED), VALUES, min_size=1, max_size=4),
    editable=st.fixed_dictionaries({}, optional=EDIT_VALUE),
    as_json=st.booleans(),
)
def test_no_edit_changes_a_field_outside_the_four(
    env: WCEnv, fixed: dict, editable: dict, as_json: bool
) -> None:
    lead_id = min(env.state.leads)
    before = copy.deepcopy(env.state.leads[lead_id])
    body = {**editable, **fixed}
    response = (
        env.profile.post(f"/leads/{lead_id}", json=body)
        if as_json
        else env.profile.post(f"/leads/{lead_id}", data=body)
    )
    assert response.status_code == 400
    assert any(f"'{name}'" in response.json()["error_message"] for name in fixed)
    assert env.state.leads[lead_id] == before  # refused whole: not even the editable part


@SETTINGS
@given(editable=st.fixed_dictionaries({}, optional=EDIT_VALUE).filter(bool))
def test_an_allowed_edit_changes_only_what_it_names(env: WCEnv, editable: dict) -> None:
    lead_id = max(env.state.leads)
    before = copy.deepcopy(env.state.leads[lead_id])
    response = env.profile.post(f"/leads/{lead_id}", data=editable)
    assert response.status_code == 200, response.text
    after = env.state.leads[lead_id]
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    assert changed <= set(editable) | {"last_updated"}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    per_page=st.integers(1, 60),
    order=st.sampled_from(["asc", "desc"]),
    lead_type=st.sampled_from([None, "phone_call", "web_form", "chat"]),
)
def test_any_page_size_gives_consistent_totals(
    env: WCEnv, per_page: int, order: str, lead_type: str | None
) -> None:
    params = {"leads_per_page": per_page, "order": order}
    if lead_type:
        params["lead_type"] = lead_type
    first = env.profile.get("/leads", params=params).json()
    total, pages = first["total_leads"], first["total_pages"]
    assert pages == math.ceil(total / per_page)
    seen: list[int] = []
    page = 1
    while True:  # the vendor clients' loop: until page_number >= total_pages
        body = env.profile.get("/leads", params={**params, "page_number": page}).json()
        assert (body["total_leads"], body["total_pages"]) == (total, pages)
        assert body["leads_per_page"] == per_page
        assert len(body["leads"]) == (per_page if page < pages else total - per_page * (pages - 1))
        seen += [lead["lead_id"] for lead in body["leads"]]
        if body["page_number"] >= body["total_pages"]:
            break
        page += 1
    assert len(seen) == len(set(seen)) == total
    beyond = env.profile.get("/leads", params={**params, "page_number": pages + 1}).json()
    assert beyond["leads"] == [] and beyond["total_leads"] == total


def test_an_edit_that_changes_nothing_keeps_last_updated_and_sends_no_webhook(
    env: WCEnv,
) -> None:
    """[I] §5.5 same values twice = same state: no new last_updated, no Update delivery."""
    env.admin("POST", "/webhooks", json={"url": HOOK_URL, "triggers": ["update"]})
    lead_id = min(env.state.leads)
    first = env.profile.post(f"/leads/{lead_id}", data={"quote_value": "120"}).json()
    env.clock.advance(60)
    again = env.profile.post(f"/leads/{lead_id}", data={"quote_value": "120"})
    assert again.status_code == 200 and again.json() == first
    env.settle()
    assert [m["quote_value"] for m in env.received] == [120]
    env.clock.advance(60)
    changed = env.profile.post(f"/leads/{lead_id}", data={"quote_value": "130"}).json()
    assert changed["last_updated"] > first["last_updated"]
