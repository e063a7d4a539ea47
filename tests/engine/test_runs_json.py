"""GET /api/runs and /api/runs/{id} answer from each run's JSON rendered once per change of its
row (engine/run_json.py): the bytes must be exactly what JSONResponse sent for the dict-based
page, and never stale."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.responses import JSONResponse

from careflow.engine import create_app
from careflow.engine.run_json import RenderedRuns, dumps
from careflow.engine.runs import run_dict

from .conftest import Harness

PASS = {"app": "logic", "action": "continue_if", "params": {"value": 1, "op": "equals", "other": 1}}
FAIL = {  # "abc" is not a number: fails at once, no retry
    "app": "logic",
    "action": "continue_if",
    "params": {"value": "abc", "op": "greater_than", "other": 5},
}
WAIT = {"app": "logic", "action": "delay_for", "params": {"amount": 1, "unit": "hours"}}
NON_ASCII = {"name": "Zoë Ångström", "city": "東京", "note": "line\u2028sep 🙂", "q": '"\\/'}


def _old_page(h: Harness, **query: Any) -> bytes:
    """The page as the route sent it before: JSONResponse over the run_dict items."""
    return bytes(JSONResponse(h.engine.page_runs(**query)).body)


def _old_run(h: Harness, run_id: str) -> bytes:
    return bytes(JSONResponse(h.engine.get_run(run_id)).body)


@pytest.fixture
def states(tmp_path: Any) -> Any:
    """Runs in every state: Completed, Failed, retried (and failed again), Running (waiting),
    Canceled, Running not yet driven; each with a non-ASCII trigger record."""
    h = Harness(tmp_path)
    ok, bad, wait = (h.workflow([{"id": "s", **step}]) for step in (PASS, FAIL, WAIT))
    h.engine.accept(ok, [NON_ASCII])
    h.engine.accept(bad, [{**NON_ASCII, "n": 1.5}])
    h.engine.accept(wait, [NON_ASCII, {"n": 2}])
    h.idle()
    failed = h.last_run(bad)["id"]
    h.engine.retry_run(failed)
    h.idle()
    h.engine.cancel_run(h.engine.list_runs(wait, "Running")[0]["id"])
    h.engine.accept(ok, [{"n": 3, "none": None, "list": [1, "two", {"three": 3}]}])
    client = TestClient(create_app(engine=h.engine))  # no lifespan: nothing ticks on its own
    yield h, client, {"ok": ok, "bad": bad, "wait": wait, "failed": failed}
    client.close()
    h.close()


def test_page_bytes_match_the_json_response_of_the_dict_page(states):
    h, client, ids = states
    runs = h.engine.list_runs()
    assert {r["status"] for r in runs} == {"Completed", "Failed", "Running", "Canceled"}
    assert any(r["retry_of"] == ids["failed"] for r in runs)
    for query in ({}, {"limit": 2}, {"workflow_id": ids["bad"]}, {"status": "running"}):
        for _ in range(2):  # rendered, then from the kept items
            answer = client.get("/api/runs", params=query)
            assert answer.status_code == 200
            assert answer.headers["content-type"] == "application/json"
            assert answer.content == _old_page(h, **query)
    cursor = client.get("/api/runs", params={"limit": 2}).json()["next_cursor"]
    assert cursor is not None
    second = client.get("/api/runs", params={"limit": 2, "cursor": cursor}).content
    assert second == _old_page(h, limit=2, cursor=cursor)
    assert "Zoë Ångström".encode() in second  # not \\u-escaped, as JSONResponse writes it


def test_one_run_bytes_match_and_unknown_run_is_404(states):
    h, client, _ = states
    for run in h.engine.list_runs():
        answer = client.get(f"/api/runs/{run['id']}")
        assert answer.status_code == 200
        assert answer.content == _old_run(h, run["id"])
    assert client.get("/api/runs/run_nope").status_code == 404


def test_a_changed_run_is_rendered_again(states):
    h, client, ids = states
    before = client.get("/api/runs").content
    h.advance(3600)  # the waiting run's delay ends: it completes; the undriven one runs
    after = client.get("/api/runs").content
    assert after != before
    assert after == _old_page(h)
    assert all(r["status"] != "Running" for r in json.loads(after)["items"])
    h.run(h.engine.delete_workflow(ids["wait"]))  # a write by another module (workflows.py)
    assert client.get("/api/runs").content == _old_page(h)


def test_kept_items_are_bounded_first_in_first_out(states):
    h, _, _ = states
    rows = h.engine.store.all("SELECT * FROM runs ORDER BY seq")
    two = sum(len(run_dict_text(r)) + len(r["data"]) + 256 for r in rows[-2:])
    rendered = RenderedRuns(run_dict, keep_bytes=two)
    for row in rows:
        rendered.item(row)
    assert len(rendered) == 2  # the budget holds the last two
    page = rendered.page(rows, None)  # the evicted ones are rendered again, the same
    assert json.loads(page) == {"items": [run_dict(r) for r in rows], "next_cursor": None}
    assert len(rendered) == 2
    assert RenderedRuns(run_dict, keep_bytes=1).item(rows[0]) == run_dict_text(rows[0])


def run_dict_text(row: Any) -> str:
    return dumps(run_dict(row))


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(record=st.dictionaries(st.text(max_size=6), JSON, max_size=4))
def test_any_trigger_record_renders_as_json_response_would(states, record):
    h, client, ids = states
    h.engine.accept(ids["ok"], [record])
    newest = h.engine.list_runs(ids["ok"])[0]["id"]
    assert client.get(f"/api/runs/{newest}").content == _old_run(h, newest)
    assert client.get("/api/runs", params={"limit": 1}).content == _old_page(h, limit=1)
