"""GET /api/runs pages (DESIGN.md "Engine HTTP API"): newest first, limit and an opaque cursor,
each page served by an index so its cost does not grow with the number of runs."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from careflow.engine import create_app
from careflow.engine.runs import PAGE_MAX, PAGE_SIZE

from .conftest import Harness

PASS = {"app": "logic", "action": "continue_if", "params": {"value": 1, "op": "equals", "other": 1}}
FAIL = {  # "abc" is not a number: fails at once, no retry
    "app": "logic",
    "action": "continue_if",
    "params": {"value": "abc", "op": "greater_than", "other": 5},
}
WAIT = {"app": "logic", "action": "delay_for", "params": {"amount": 1, "unit": "hours"}}


def _workflow(h: Harness, step: dict[str, Any]) -> str:
    return h.workflow([{"id": "s", **step}])


def _client(h: Harness) -> TestClient:
    return TestClient(create_app(engine=h.engine))  # no lifespan: nothing ticks on its own


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """32 runs of four workflows, in every status, interleaved."""
    h = Harness(tmp_path_factory.mktemp("pages"))
    a, b, c, d = (_workflow(h, step) for step in (PASS, FAIL, WAIT, WAIT))
    for i in range(6):
        h.engine.accept(a, [{"n": i}, {"n": i + 100}])  # Completed
        h.engine.accept(b, [{"n": i}])  # Failed
        h.engine.accept(c, [{"n": i}])  # Running (waiting an hour)
        h.engine.accept(d, [{"n": i}] if i % 2 else [])  # Terminated, below
        h.idle()
        h.engine.accept(c, [{"n": -i}])
        h.engine.cancel_run(h.engine.list_runs(c, "running")[0]["id"])  # Canceled
    h.run(h.engine.delete_workflow(d))
    h.engine.accept(a, [{"n": 1000}])  # the newest, Running (not driven yet)
    assert {r["status"] for r in h.engine.list_runs()} == {
        "Running",
        "Completed",
        "Failed",
        "Canceled",
        "Terminated",
    }
    client = _client(h)
    yield h, client, {"a": a, "b": b, "c": c}
    client.close()
    h.close()


@settings(max_examples=40, deadline=None)
@given(
    limit=st.integers(1, 12),
    workflow=st.sampled_from([None, "a", "b", "c", "d", "nope"]),
    status=st.sampled_from([None, "Running", "completed", "FAILED", "Canceled", "Terminated"]),
)
def test_walking_the_pages_yields_every_run_once_newest_first(mixed, limit, workflow, status):
    h, client, ids = mixed
    workflow_id = ids.get(workflow, workflow)
    expected = [r["id"] for r in h.engine.list_runs(workflow_id, status)]
    params = {
        k: v
        for k, v in {"workflow_id": workflow_id, "status": status, "limit": limit}.items()
        if v is not None
    }
    seen: list[str] = []
    while True:
        page = client.get("/api/runs", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        assert set(body) == {"items", "next_cursor"}
        assert len(body["items"]) <= limit
        seen += [r["id"] for r in body["items"]]
        if body["next_cursor"] is None:
            break
        assert len(body["items"]) == limit  # only a full page has a next one
        params["cursor"] = body["next_cursor"]
    assert seen == expected


def test_items_keep_the_run_shape(mixed):
    h, client, ids = mixed
    page = client.get("/api/runs", params={"workflow_id": ids["a"], "limit": 3}).json()
    assert page["items"] == h.engine.list_runs(ids["a"])[:3]
    assert page["items"][0]["status"] == "Running"  # newest first
    assert page["items"][0]["trigger"] == {"n": 1000}


def test_default_limit_is_100_and_larger_limits_are_clamped_to_1000(tmp_path):
    h = Harness(tmp_path)
    wf = _workflow(h, PASS)
    h.engine.accept(wf, [{"n": i} for i in range(PAGE_MAX + 5)])  # left Running: no need to run
    with _client(h) as client:
        first = client.get("/api/runs").json()
        assert len(first["items"]) == PAGE_SIZE == 100 and first["next_cursor"]
        big = client.get("/api/runs", params={"limit": 10**12}).json()
        assert len(big["items"]) == PAGE_MAX == 1000
        assert [r["trigger"]["n"] for r in big["items"]] == list(range(1004, 4, -1))
        rest = client.get("/api/runs", params={"limit": 5000, "cursor": big["next_cursor"]}).json()
        assert [r["trigger"]["n"] for r in rest["items"]] == [4, 3, 2, 1, 0]
        assert rest["next_cursor"] is None
    h.close()


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": -3}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": 2.5}, "limit"),
        ({"cursor": "not a cursor"}, "cursor"),
        ({"cursor": ""}, "cursor"),
        ({"cursor": "é"}, "cursor"),
        ({"cursor": _b64("runs:0")}, "cursor"),
        ({"cursor": _b64("runs:-4")}, "cursor"),
        ({"cursor": _b64("runs:99999999999999999999999")}, "cursor"),
        ({"cursor": _b64("seq:12")}, "cursor"),
        ({"cursor": "//8"}, "cursor"),  # bytes that are not UTF-8
    ],
)
def test_a_bad_limit_or_cursor_is_a_422_that_names_it(mixed, params, field):
    _h, client, _ids = mixed
    response = client.get("/api/runs", params=params)
    assert response.status_code == 422, response.text
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["query", field]
    if field == "cursor":
        assert "next_cursor" in problem["msg"]  # says what to send instead


@settings(max_examples=60, deadline=None)
@given(
    cursor=st.text(max_size=40) | st.binary(max_size=30).map(lambda b: _b64(b.decode("latin-1")))
)
def test_any_cursor_is_a_page_or_a_422_never_a_5xx(mixed, cursor):
    _h, client, _ids = mixed
    response = client.get("/api/runs", params={"cursor": cursor, "limit": 2})
    assert response.status_code in (200, 422), response.text


def _vm_steps(h: Harness, **query: Any) -> int:
    """SQLite virtual-machine steps that one page's query costs (rows visited, roughly)."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    h.engine.store.db.set_progress_handler(count, 1)
    try:
        page = h.engine.page_runs(**query)
    finally:
        h.engine.store.db.set_progress_handler(None, 1)
    assert len(page["items"]) == query["limit"]
    return steps


@pytest.mark.parametrize(
    "query",
    [
        {"workflow": "rare"},
        {"status": "canceled"},
        {"workflow": "rare", "status": "canceled"},
        {"workflow": "rare", "cursor": True},
        {"status": "canceled", "cursor": True},
        {},
        {"cursor": True},
    ],
)
def test_a_page_costs_the_same_however_many_runs_there_are(tmp_path, query):
    """Ten times the runs, of the filter and around it: a page costs no more."""
    costs = []
    for scale in (1, 10):
        h = Harness(tmp_path / str(scale))
        rare, busy = _workflow(h, PASS), _workflow(h, PASS)
        h.engine.accept(busy, [{"n": i} for i in range(100 * scale)])  # Running (not driven)
        h.engine.accept(rare, [{"n": i} for i in range(10 * scale)])
        for run in h.engine.list_runs(rare):
            h.engine.cancel_run(run["id"])  # Canceled, between the others
        h.engine.accept(busy, [{"n": i} for i in range(100 * scale)])
        args: dict[str, Any] = {"limit": 4}
        if "workflow" in query:
            args["workflow_id"] = rare
        if "status" in query:
            args["status"] = query["status"]
        if query.get("cursor"):
            args["cursor"] = h.engine.page_runs(**{**args, "limit": 3})["next_cursor"]
        costs.append(_vm_steps(h, **args))
        h.close()
    small, large = costs
    assert large <= small * 1.2 + 50, f"a page cost {small} steps of 210 runs, {large} of 2100"
