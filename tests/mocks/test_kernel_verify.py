"""The journal (answers, elapsed time, ring buffer, tenants), ``POST /__sandbox/journal/verify``
and faults that match on more than the route. Driven on the WhatConverts fake (every fake
serves the same kernel)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careflow.mocks.kernel.journal import CAPACITY_ENV, RESPONSE_BODY_LIMIT, Journal
from careflow.mocks.kernel.matching import RequestView, subset_diff
from careflow.mocks.whatconverts import create_app

from .fake_env import FakeEnv
from .whatconverts.conftest import BASE, START, WCEnv


@pytest.fixture
def env() -> Iterator[WCEnv]:
    e = WCEnv()
    yield e
    e.close()


def verify(env: WCEnv, expect_status: int = 200, **matcher: Any) -> dict[str, Any]:
    response = env.client.post("/__sandbox/journal/verify", json=matcher)
    assert response.status_code == expect_status, response.text
    return response.json()  # type: ignore[no-any-return]


def make_lead(env: WCEnv, **fields: Any) -> dict[str, Any]:
    made = env.profile.post("/leads", data={"lead_type": "web_form", **fields})
    assert made.status_code == 200, made.text
    return made.json()  # type: ignore[no-any-return]


# the journal -----------------------------------------------------------------------------------


def test_entries_carry_the_answer_masked_and_the_elapsed_time(env: WCEnv) -> None:
    lead = make_lead(env, email_address="pat@example.com", form_name="Intake")
    [entry] = env.admin("GET", "/journal")["items"]
    assert entry["response_body"]["lead_id"] == lead["lead_id"]
    assert entry["response_body"]["email_address"] == "***"
    assert entry["response_body"]["form_name"] == "Intake"
    assert isinstance(entry["elapsed_ms"], float) and entry["elapsed_ms"] >= 0
    assert "pat@example.com" not in repr(entry)
    refused = env.anon.get("/leads")
    [_, denied] = env.admin("GET", "/journal")["items"]
    assert denied["status"] == refused.status_code == 401
    assert denied["response_body"] == refused.json()


def test_an_answer_over_16_kib_is_masked_then_cut(env: WCEnv) -> None:
    env.admin("POST", "/seed", json={"synthetic": {"leads": 60}})
    listing = env.profile.get("/leads", params={"leads_per_page": 60})
    assert len(listing.content) > RESPONSE_BODY_LIMIT
    emails = [lead["email_address"] for lead in listing.json()["leads"] if lead["email_address"]]
    [entry] = env.admin("GET", "/journal", params={"path": "/api/v1/leads"})["items"]
    body = entry["response_body"]
    assert isinstance(body, str) and body.endswith(f"[cut: {len(listing.content)} bytes in all]")
    assert len(body) < RESPONSE_BODY_LIMIT + 100
    assert '"email_address": "***"' in body
    assert emails and not any(email in body for email in emails)


def test_identical_large_answers_share_one_packed_copy_and_read_the_same() -> None:
    journal = Journal()
    page = b'{"leads": [' + b",".join([b'{"email_address": "pat@example.com"}'] * 600) + b"]}"
    assert len(page) > RESPONSE_BODY_LIMIT
    first = journal.answer(page, "application/json", len(page))
    again = journal.answer(bytes(bytearray(page)), "application/json", len(page))
    assert again is first  # compared, not compressed again
    assert journal.answer(page, "text/plain", len(page)) is not first  # the type is part of it
    other = page.replace(b"pat@", b"sam@")
    packed = journal.answer(other, "application/json", len(other))
    assert packed is not first
    journal.clear()  # a forgotten answer is not kept for sharing either
    assert journal.answer(other, "application/json", len(other)) is not packed


def test_the_journal_is_a_ring_buffer_that_counts_what_it_dropped() -> None:
    env = FakeEnv(create_app, BASE, START, journal_capacity=3)
    try:
        for _ in range(5):
            env.client.get("/api/v1/leads")
        journal = env.admin("GET", "/journal")
        assert [e["id"] for e in journal["items"]] == [3, 4, 5]
        assert (journal["dropped"], journal["capacity"]) == (2, 3)
        env.admin("POST", "/reset")
        assert env.admin("GET", "/journal") == {"items": [], "dropped": 0, "capacity": 3}
    finally:
        env.close()


def test_the_capacity_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CAPACITY_ENV, "7")
    assert Journal().capacity == 7
    for bad in ("0", "many"):
        monkeypatch.setenv(CAPACITY_ENV, bad)
        with pytest.raises(ValueError, match=CAPACITY_ENV):
            Journal()


def test_the_tenant_header_scopes_the_journal(env: WCEnv) -> None:
    made = env.client.post("/__sandbox/tenants", json={"name": "t1"}).json()
    creds = made["credentials"]
    other = env.api_client(creds["api_token"], creds["api_secret"])
    other.get("/leads")
    env.profile.get("/leads")
    env.profile.get("/leads")
    scoped = env.client.get("/__sandbox/journal", headers={"X-Sandbox-Tenant": "t1"}).json()
    assert [e["tenant"] for e in scoped["items"]] == ["t1"]
    by_query = env.client.get("/__sandbox/journal", params={"tenant": "t1"}).json()
    assert by_query["items"] == scoped["items"]
    assert len(env.admin("GET", "/journal")["items"]) == 3
    scoped_verify = env.client.post(
        "/__sandbox/journal/verify",
        json={"path": "/api/v1/leads", "times": 1},
        headers={"X-Sandbox-Tenant": "t1"},
    ).json()
    assert scoped_verify == {"ok": True, "matched": 1}


# verify ----------------------------------------------------------------------------------------


def test_verify_counts_by_method_template_query_json_and_headers(env: WCEnv) -> None:
    lead = make_lead(env, form_name="Intake", lead_source="google")
    env.profile.get(f"/leads/{lead['lead_id']}")
    env.profile.get("/leads", params={"lead_type": "web_form", "leads_per_page": 5})
    assert verify(env) == {"ok": True, "matched": 3}
    assert verify(env, method="post", path="/api/v1/leads", times=1)["ok"]
    assert verify(env, path="/api/v1/leads/{id}", method="GET", times=1)["ok"]
    assert verify(env, path_regex=r"/api/v1/leads/\d+", times=1)["ok"]
    assert verify(env, path="/api/v1/*", at_least=3)["ok"]
    assert verify(env, query={"leads_per_page": 5}, times=1)["ok"]
    assert verify(env, query={"leads_per_page": [5]}, times=1)["ok"]
    assert verify(env, json={"form_name": "Intake", "lead_source": "google"}, times=1)["ok"]
    assert verify(env, headers={"content-type": "application/x-www-form-urlencoded"})["ok"]
    assert verify(env, method="DELETE", never=True) == {"ok": True, "matched": 0}
    assert verify(env, status=200, times=3)["ok"]


def test_a_failed_verify_lists_the_closest_requests_with_a_diff(env: WCEnv) -> None:
    make_lead(env, form_name="Intake", email_address="pat@example.com")
    env.profile.get("/leads")
    answer = verify(
        env,
        method="POST",
        path="/api/v1/leads",
        json={"form_name": "Follow-up", "email_address": "sam@example.com"},
    )
    assert (answer["ok"], answer["matched"]) == (False, 0)
    best, second = answer["closest"]
    assert best["entry"]["method"] == "POST"  # same route first
    assert best["diff"] == [
        {"field": "json.form_name", "expected": "Follow-up", "actual": "Intake"},
        {"field": "json.email_address", "expected": "sam@example.com", "actual": "***"},
    ]
    assert second["diff"][0] == {"field": "method", "expected": "POST", "actual": "GET"}
    assert "pat@example.com" not in repr(answer)
    message = answer["message"]
    assert message.startswith("verify failed on whatconverts: expected at least 1 request")
    assert 'json.form_name: expected "Follow-up", got "Intake"' in message


def test_too_many_matches_list_the_ones_that_matched(env: WCEnv) -> None:
    env.profile.get("/leads")
    env.profile.get("/leads")
    answer = verify(env, path="/api/v1/leads", times=1)
    assert (answer["ok"], answer["matched"]) == (False, 2)
    assert [c["diff"] for c in answer["closest"]] == [[], []]
    assert answer["closest"][0]["entry"]["id"] == 2  # newest first
    never = verify(env, path="/api/v1/leads", never=True)
    assert not never["ok"] and "expected no request" in never["message"]


def test_an_empty_journal_says_so(env: WCEnv) -> None:
    answer = verify(env, path="/api/v1/leads")
    assert answer["closest"] == [] and "The journal on whatconverts is empty" in answer["message"]


@pytest.mark.parametrize(
    ("matcher", "needle"),
    [
        ({"tiems": 1}, "'tiems' (did you mean 'times'?)"),
        ({"times": 1, "never": True}, "at most one of"),
        ({"times": -1}, "'times'"),
        ({"at_least": True}, "'at_least'"),
        ({"never": "yes"}, "'never'"),
        ({"path": "api/v1/leads"}, "'path' must start with '/'"),
        ({"path": "/api/v1/leads?x=1"}, "'query'"),
        ({"path": "/a", "path_regex": "/a"}, "not both"),
        ({"path_regex": "("}, "'path_regex' is not a valid regular expression"),
        ({"query": ["a"]}, "'query' must be an object"),
        ({"headers": {"x": {"y": 1}}}, "'headers' must be an object"),
        ({"method": 3}, "'method'"),
        ({"status": 99}, "'status'"),
        (["GET"], "must be a JSON object"),
    ],
)
def test_a_malformed_matcher_is_422_naming_the_key(env: WCEnv, matcher: Any, needle: str) -> None:
    response = env.client.post("/__sandbox/journal/verify", json=matcher)
    assert response.status_code == 422
    assert needle in response.json()["detail"]


def test_a_matcher_that_is_not_json_is_422(env: WCEnv) -> None:
    response = env.client.post("/__sandbox/journal/verify", content=b"{nope")
    assert response.status_code == 422 and "not JSON" in response.json()["detail"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=60)
@given(json_values)
def test_every_value_contains_itself(value: Any) -> None:
    assert subset_diff(value, value) == []


@settings(max_examples=60)
@given(st.dictionaries(st.text(max_size=3), json_values, min_size=1, max_size=4), st.data())
def test_any_part_of_an_object_matches_it(document: dict[str, Any], data: st.DataObject) -> None:
    keys = data.draw(st.lists(st.sampled_from(sorted(document)), unique=True))
    assert subset_diff({k: document[k] for k in keys}, document) == []
    missing = "\x00not-a-key"
    assert subset_diff({missing: 1}, document)[0]["actual"] == "<absent>"


def test_true_is_not_one() -> None:
    assert subset_diff({"a": 1}, {"a": True}) != []
    assert subset_diff({"a": 1}, {"a": 1.0}) == []


def test_a_request_view_decodes_lazily() -> None:
    view = RequestView("POST", "/x", "a=1&a=2", [(b"Content-Type", b"application/json")], b"[1]")
    assert view.query == {"a": ["1", "2"]} and view.document == [1]
    assert view.headers == {"content-type": "application/json"}


# faults on more than the route -----------------------------------------------------------------


def fault(env: WCEnv, **spec: Any) -> dict[str, Any]:
    return env.admin("POST", "/faults", json={"path": "/api/v1/leads", "status": 503, **spec})


def test_a_fault_can_ask_for_a_query_pair(env: WCEnv) -> None:
    fault(env, method="GET", query={"lead_type": "chat"})
    assert env.profile.get("/leads").status_code == 200
    assert env.profile.get("/leads", params={"lead_type": "chat"}).status_code == 503


def test_a_fault_can_ask_for_a_header(env: WCEnv) -> None:
    fault(env, headers={"X-Client": "legacy"})
    assert env.profile.get("/leads").status_code == 200
    assert env.profile.get("/leads", headers={"x-client": "legacy"}).status_code == 503


def test_a_fault_can_ask_for_part_of_the_body(env: WCEnv) -> None:
    fault(env, method="POST", json={"lead_type": "chat"})
    assert env.profile.post("/leads", data={"lead_type": "web_form"}).status_code == 200
    assert env.profile.post("/leads", data={"lead_type": "chat"}).status_code == 503
    assert env.profile.post("/leads", json={"lead_type": "chat"}).status_code == 503


def test_after_faults_the_nth_matching_call_onward(env: WCEnv) -> None:
    made = fault(env, method="GET", after=3, times=2)
    assert (made["after"], made["seen"]) == (3, 0)
    statuses = [env.profile.get("/leads").status_code for _ in range(5)]
    assert statuses == [200, 200, 503, 503, 200]
    [listed] = env.admin("GET", "/faults")["items"]
    assert (listed["seen"], listed["hits"], listed["remaining"]) == (5, 2, 0)


def test_a_call_counts_for_every_fault_it_matches(env: WCEnv) -> None:
    fault(env, method="GET", times=1)
    fault(env, method="GET", after=2, status=502)
    assert [env.profile.get("/leads").status_code for _ in range(3)] == [503, 502, 502]


@pytest.mark.parametrize(
    ("spec", "needle"),
    [({"after": 0}, "after"), ({"query": "a=1"}, "query"), ({"headers": {"a": [1]}}, "headers")],
)
def test_a_bad_fault_matcher_is_422(env: WCEnv, spec: dict[str, Any], needle: str) -> None:
    response = env.client.post("/__sandbox/faults", json={"path": "/api/v1/leads", **spec})
    assert response.status_code == 422 and needle in response.text
    assert env.admin("GET", "/faults")["items"] == []
