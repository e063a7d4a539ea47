"""The dashboard's pages over an in-process stack (no browser): every page answers, PHI is masked
until revealed, secrets never appear, actions post-redirect-get, bad input is a clear 4xx."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careflow.scenarios.dashboard.links import lead_requests
from careflow.scenarios.dashboard.present import mask
from careflow.scenarios.dashboard.reader import StackReader
from careflow.scenarios.dashboard.vendor_pages import filter_leads
from careflow.scenarios.driver import StackDriver
from careflow.scenarios.stack import InProcessStack

from .conftest import Demo, find_demo, run_showcase


def run_async(coro: Any) -> Any:
    """``asyncio.run`` in a thread of its own: Playwright's sync API (the browser tests, same
    worker) keeps an event loop running in the main thread."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[InProcessStack, Demo]]:
    with InProcessStack() as stack:
        run_showcase(StackDriver.in_process(stack))
        with stack.client() as http:
            yield stack, find_demo(http, stack.urls["engine"])


def pages(d: Demo) -> dict[str, str]:
    """Every dashboard page → its heading."""
    return {
        "/ui/": "Overview",
        "/ui/whatconverts/leads": "WhatConverts leads",
        "/ui/whatconverts/leads?lead_type=phone_call&page_number=1&leads_per_page=5": (
            "WhatConverts leads"
        ),
        f"/ui/whatconverts/leads/{d.lead_id}": f"Lead {d.lead_id}",
        "/ui/caspio/tables": "Caspio tables",
        "/ui/caspio/tables/Patients": "Caspio table Patients",
        "/ui/caspio/tables/Patients?where=Source%20%3D%20%27WhatConverts%27": (
            "Caspio table Patients"
        ),
        "/ui/caspio/webhooks": "Caspio outgoing webhooks",
        "/ui/ours/events": "Ours Privacy Recent Events",
        "/ui/ours/events?hidden=1&mode=test": "Ours Privacy Recent Events",
        f"/ui/ours/events/{d.live_event['id']}": "Ours event lead_created",
        "/ui/workflows": "Workflows",
        f"/ui/workflows/{d.intake_workflow}": "Workflow New patient inquiry follow-up",
        "/ui/runs": "Runs",
        f"/ui/runs?status=Failed&workflow_id={d.failed_run['workflow_id']}": "Runs",
        f"/ui/runs/{d.failed_run['id']}": f"Run {d.failed_run['id']}",
        f"/ui/timeline/{d.lead_run['correlation_id']}": "Timeline",
        "/ui/journal": "Request journal",
        "/ui/journal?service=caspio&method=POST&status=500": "Request journal",
        "/ui/faults": "Faults",
    }


def h1(html: str) -> str:
    found = re.findall(r"<h1>(.*?)</h1>", html, re.S)
    assert len(found) == 1, found
    return found[0].strip()


def test_root_redirects_to_the_dashboard_and_every_page_answers(demo):
    stack, d = demo
    with stack.client("engine") as http:
        assert http.get("/").headers["location"] == "/ui/"
        for path, heading in pages(d).items():
            response = http.get(path)
            assert response.status_code == 200, (path, response.text[-800:])
            assert h1(response.text).startswith(heading), path
            assert "Synthetic data only — no real patient records" in response.text


def test_phi_is_masked_unless_revealed_and_secrets_never_show(demo):
    stack, d = demo
    lead = f"/ui/whatconverts/leads/{d.lead_id}"
    with stack.client("engine") as http:
        masked = http.get(lead).text
        assert "Casey Example" not in masked and "casey.example@example.com" not in masked
        assert "***" in masked
        http.get("/ui/caspio/tables/Patients?where=Email%3D%27casey.example%40example.com%27")
        journal = http.get("/ui/journal?service=caspio").text  # the query above, journaled
        assert "casey.example" not in journal and "Email" in journal
    with stack.client("engine", cookies={"careflow_reveal": "1"}) as http:
        shown = http.get(lead).text
        assert "Casey Example" in shown and "casey.example@example.com" in shown
        for path in pages(d):
            html = http.get(path).text
            leaked = [s for s in d.secrets if s in html]
            assert not leaked, f"{path} shows a secret"


def test_reveal_switch_sets_a_long_lived_cookie_and_returns_to_the_page(demo):
    stack, _d = demo
    with stack.client("engine") as http:
        response = http.post("/ui/reveal", data={"next": "/ui/runs", "reveal": "1"})
        assert response.status_code == 303 and response.headers["location"] == "/ui/runs"
        cookie = response.headers["set-cookie"]
        assert "careflow_reveal=1" in cookie and "Max-Age=31536000" in cookie


def test_clock_buttons_move_the_shared_clock_and_cross_site_posts_are_refused(demo):
    stack, _d = demo
    with stack.client("engine") as http:
        before = http.get("/__sandbox/clock").json()
        http.post("/__sandbox/clock", json={"frozen": True})
        before = http.get("/__sandbox/clock").json()
        refused = http.post(
            "/ui/clock",
            data={"advance_seconds": "3600"},
            headers={"Origin": "http://attacker.example"},
        )
        assert refused.status_code == 403
        assert http.get("/__sandbox/clock").json()["now"] == before["now"]
        moved = http.post("/ui/clock", data={"advance_seconds": "60", "next": "/ui/"})
        assert moved.status_code == 303
        after = http.get("/__sandbox/clock").json()
        assert after["now"] > before["now"]
        assert "Clock advanced by 1 min" in http.get("/ui/").text  # the one-time note


def test_faults_are_added_listed_and_cleared_from_the_faults_page(demo):
    stack, _d = demo
    with stack.client("engine") as http:
        added = http.post(
            "/ui/faults",
            data={
                "service": "ours",
                "method": "POST",
                "path": "/api/v1/track",
                "kind": "error",
                "status": "503",
                "times": "2",
            },
        )
        assert added.status_code == 303
        page = http.get("/ui/faults").text
        assert "/api/v1/track" in page and "503" in page
        bad = http.post("/ui/faults", data={"service": "ours", "path": "no-slash"})
        assert bad.status_code == 303
        assert "starting with /" in http.get("/ui/faults").text
        http.post("/ui/faults/clear", data={"service": ""})
        assert stack.client("ours").get("/__sandbox/faults").json()["items"] == []


def test_bad_input_is_a_clear_4xx_page(demo):
    stack, _d = demo
    with stack.client("engine") as http:
        wrong_type = http.get("/ui/whatconverts/leads?lead_type=fax")
        assert wrong_type.status_code == 400 and "Invalid lead_type parameter." in wrong_type.text
        wrong_where = http.get("/ui/caspio/tables/Patients?where=NoSuchField%3D1")
        assert wrong_where.status_code == 400 and "Caspio answered 400" in wrong_where.text
        missing = http.get("/ui/runs/run_nope")
        assert missing.status_code == 404 and "no run" in missing.text


def test_a_typed_q_where_is_one_metered_call_and_browsing_is_none(demo):
    stack, _d = demo
    with stack.client("caspio") as caspio, stack.client("engine") as http:
        used = caspio.get("/__sandbox/meter").json()["used"]
        for path in ("/ui/", "/ui/caspio/tables", "/ui/caspio/tables/Patients", "/ui/ours/events"):
            http.get(path)
        assert caspio.get("/__sandbox/meter").json()["used"] == used
        page = http.get("/ui/caspio/tables/Patients?where=Source%3D%27WhatConverts%27").text
        assert "Casey" not in page and "from the REST API" in page
        assert caspio.get("/__sandbox/meter").json()["used"] == used + 1


def test_fake_api_docs_work_offline(demo):
    stack, _d = demo
    for service in ("whatconverts", "caspio", "ours"):
        with stack.client(service) as http:
            html = http.get("/__sandbox/docs").text
            assert "cdn" not in html.lower()
            for asset in re.findall(r'(?:href|src)="(/__sandbox/docs/static/[^"]+)"', html):
                assert http.get(asset).status_code == 200, asset
    with stack.client("engine") as http:
        assert "cdn" not in http.get("/ui/api-docs").text.lower()


# units ----------------------------------------------------------------------------------------


def test_mask_hides_phi_unless_revealed_and_secrets_always():
    record = {
        "Name": "Pat",
        "Email": "p@example.com",
        "Visits": 3,
        "token": "sbx_x",
        "nested": [{"phone_number": "+1555"}],
    }
    hidden = mask(record, reveal=False)
    assert hidden["Name"] == "***" and hidden["nested"][0]["phone_number"] == "***"
    where = "q.where=Email%3D%27pat.doe%40example.com%27&q.limit=5"
    assert mask({"query": where}, reveal=False)["query"] == "q.where=Email%3D%27***%27&q.limit=5"
    assert hidden["Visits"] == 3
    shown = mask(record, reveal=True)
    assert shown["Name"] == "Pat" and shown["token"] == "***"


LEADS = st.lists(
    st.fixed_dictionaries(
        {
            "lead_type": st.sampled_from(["Phone Call", "Web Form", "Chat"]),
            "lead_status": st.sampled_from(["Unique", "Repeat"]),
            "date_created": st.sampled_from(
                ["2026-03-01T10:00:00Z", "2026-03-02T09:00:00Z", "2026-03-03T23:59:59Z"]
            ),
        }
    ),
    max_size=40,
)


@settings(max_examples=40)
@given(leads=LEADS, per_page=st.integers(1, 12), lead_type=st.sampled_from(["", "phone_call"]))
def test_lead_pages_partition_the_filtered_leads_newest_first(leads, per_page, lead_type):
    for i, lead in enumerate(leads):
        lead["lead_id"] = 100000 + i
    query = {
        "lead_type": lead_type,
        "lead_status": "",
        "start_date": "2026-03-02",
        "end_date": "",
        "page_number": "1",
        "leads_per_page": str(per_page),
    }
    problem, first = filter_leads(leads, query)
    assert not problem
    seen: list[Any] = []
    for number in range(1, first["total_pages"] + 1):
        _p, page = filter_leads(leads, {**query, "page_number": str(number)})
        assert len(page["leads"]) <= per_page
        seen += page["leads"]
    assert len(seen) == first["total_leads"] == len({lead["lead_id"] for lead in seen})
    assert all(lead["date_created"] >= "2026-03-02" for lead in seen)
    assert all(not lead_type or lead["lead_type"] == "Phone Call" for lead in seen)
    keys = [(lead["date_created"], lead["lead_id"]) for lead in seen]
    assert keys == sorted(keys, reverse=True)


def test_lead_requests_links_creates_only_when_the_counts_agree():
    journal = [
        {
            "method": "POST",
            "path": "/api/v1/leads",
            "status": 200,
            "time": "2026-03-02T09:00:00Z",
            "correlation_id": "a",
        },
        {
            "method": "POST",
            "path": "/api/v1/leads",
            "status": 200,
            "time": "2026-03-02T09:00:00Z",
            "correlation_id": "b",
        },
        {
            "method": "POST",
            "path": "/api/v1/leads/7",
            "status": 200,
            "time": "2026-03-02T09:05:00Z",
            "correlation_id": "c",
        },
        {
            "method": "POST",
            "path": "/api/v1/leads",
            "status": 200,
            "time": "2026-03-02T09:09:00Z",
            "correlation_id": "d",
        },
    ]
    leads = {
        "7": {"lead_id": 7, "date_created": "2026-03-02T09:00:00Z"},
        "8": {"lead_id": 8, "date_created": "2026-03-02T09:00:00Z"},
        "9": {"lead_id": 9, "date_created": "2026-03-02T09:09:00Z"},
        "10": {"lead_id": 10, "date_created": "2026-03-02T09:09:00Z"},
    }
    linked = lead_requests(journal, leads)
    assert linked["7"] == ["a", "c"] and linked["8"] == ["b"]
    assert "9" not in linked and "10" not in linked  # one create, two leads: no guess


@pytest.mark.parametrize("paged", [True, False])
def test_runs_pages_follow_the_engine_cursor_or_cut_locally(paged):
    runs = [{"id": f"run_{i:03d}"} for i in range(120, 0, -1)]

    def engine(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/__sandbox/stack":
            return httpx.Response(200, json={"engine": {"url": "http://127.0.0.1:1"}})
        if not paged:  # an engine without pagination answers every run
            return httpx.Response(200, json={"items": runs})
        limit = int(request.url.params["limit"])
        start = int(request.url.params.get("cursor") or 0)
        nxt = start + limit if start + limit < len(runs) else None
        return httpx.Response(
            200,
            json={"items": runs[start : start + limit], "next_cursor": nxt and str(nxt)},
        )

    client = httpx.AsyncClient(transport=httpx.MockTransport(engine))
    reader = StackReader(lambda: client, engine_url="http://127.0.0.1:1")

    async def walk() -> list[str]:
        seen, cursor = [], ""
        while True:
            items, cursor = await reader.runs_page(limit=50, cursor=cursor)
            assert len(items) <= 50
            seen += [r["id"] for r in items]
            if not cursor:
                return seen

    assert run_async(walk()) == [r["id"] for r in runs]


def test_workflow_buttons_deactivate_activate_and_test_trigger(demo):
    stack, d = demo
    path = f"/ui/workflows/{d.intake_workflow}"
    with stack.client("engine") as http:
        off = http.post(f"{path}/deactivate")
        assert off.status_code == 303 and "inactive" in http.get(path).text
        http.post(f"{path}/activate")
        assert http.get(f"/api/workflows/{d.intake_workflow}").json()["status"] == "active"
        tested = http.post(f"{path}/test-trigger")
        assert tested.status_code == 200 and "Test trigger" in tested.text


def test_the_dashboard_also_runs_on_its_own_against_a_stack_elsewhere(served_demo):
    """``create_app(engine_url)``: the same pages, reading a served stack by its URL only."""
    from careflow.scenarios.dashboard import create_app

    async def visit() -> tuple[int, str]:
        async with httpx.AsyncClient(timeout=30) as stack_http:
            app = create_app(served_demo.engine, client=stack_http)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://ui") as ui:
                response = await ui.get(f"/ui/whatconverts/leads/{served_demo.lead_id}")
                return response.status_code, response.text

    status, html = run_async(visit())
    assert status == 200 and "Follow this lead" in html
    assert served_demo.info["caspio"]["client_secret"] not in html
