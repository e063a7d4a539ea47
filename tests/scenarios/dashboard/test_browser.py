"""The dashboard in a real headless Chromium (Debian's ``chromium``, driven by Playwright): what a
person does — open every page, follow a lead to its run, row and event, move the clock and see a
polled run appear, retry a failed run, see a test-mode event held back, reveal masked values.
Assertions are on visible text. Screenshots of every page go to ``test-artifacts/dashboard/``."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from . import a11y
from .conftest import ARTIFACTS, Demo

pytestmark = pytest.mark.browser

expect: Any = None


@pytest.fixture(autouse=True)
def _expect() -> None:
    global expect
    expect = pytest.importorskip("playwright.sync_api").expect


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def heading(page: Any) -> Any:
    return page.get_by_role("heading", level=1)


def test_every_page_opens_reads_well_and_passes_an_accessibility_check(page, served_demo):
    d: Demo = served_demo
    tour = [
        ("overview", "/ui/", "Overview", "Shared clock"),
        ("wc-leads", "/ui/whatconverts/leads?lead_type=phone_call", "WhatConverts leads",
         "Page 1 of"),
        ("wc-lead", f"/ui/whatconverts/leads/{d.lead_id}", f"Lead {d.lead_id}",
         "Follow this lead"),
        ("caspio-tables", "/ui/caspio/tables", "Caspio tables", "Integration-call meter"),
        ("caspio-table", "/ui/caspio/tables/Patients?where=Source%20%3D%20%27WhatConverts%27",
         "Caspio table Patients", "where Source = 'WhatConverts' (from the REST API)"),
        ("caspio-webhooks", "/ui/caspio/webhooks", "Caspio outgoing webhooks", "Deliveries"),
        ("ours-events", "/ui/ours/events", "Ours Privacy Recent Events",
         "not dispatched: test mode"),
        ("ours-event", f"/ui/ours/events/{d.live_event['id']}", "Ours event lead_created",
         "Meta CAPI: received"),
        ("workflows", "/ui/workflows", "Workflows", "New patient inquiry follow-up"),
        ("workflow", f"/ui/workflows/{d.intake_workflow}",
         "Workflow New patient inquiry follow-up", "create_record"),
        ("runs", "/ui/runs", "Runs", "Web intake form to Caspio"),
        ("run", f"/ui/runs/{d.lead_run['id']}", f"Run {d.lead_run['id']}", "create_patient"),
        ("timeline", f"/ui/timeline/{d.lead_run['correlation_id']}", "Timeline",
         "lead_created → meta-capi"),
        ("journal", "/ui/journal", "Request journal", "POST /api/v1/track"),
        ("faults", "/ui/faults", "Faults", "Add a fault"),
    ]  # fmt: skip
    failures = {}
    for name, path, title, text in tour:
        page.goto(path)
        expect(heading(page)).to_contain_text(title)
        expect(page.locator("main")).to_contain_text(text)
        expect(page.get_by_text("Synthetic data only — no real patient records")).to_be_visible()
        shot(page, name)
        problems = a11y.check(page)
        if problems:
            failures[path] = problems
    assert not failures, failures
    # the fakes' and the engine's API docs render offline (assets from a package, no CDN)
    for url in (f"{d.info['ours']['url']}/__sandbox/docs", f"{d.engine}/ui/api-docs"):
        page.goto(url)
        expect(page.locator(".swagger-ui .info")).to_be_visible()
    shot(page, "engine-api-docs")


def test_follow_a_demo_lead_to_its_run_its_caspio_row_and_its_ours_event(page, served_demo):
    d: Demo = served_demo
    page.goto(f"/ui/whatconverts/leads/{d.lead_id}")
    page.get_by_role("link", name=f"Run {d.lead_run['id']}").click()
    expect(heading(page)).to_have_text(f"Run {d.lead_run['id']}")
    expect(page.locator("#run-head")).to_contain_text("Completed")
    page.get_by_text("Input and output of create_patient").click()
    expect(page.locator("main")).to_contain_text('"table": "Patients"')
    page.go_back()
    page.get_by_role("link", name=re.compile(r"Caspio row Patients #\d+")).click()
    expect(heading(page)).to_have_text("Caspio table Patients")
    row = page.locator("tr.highlight")
    expect(row).to_contain_text("WhatConverts")  # its Source column
    expect(row).not_to_contain_text("Casey Example")  # masked until revealed
    page.go_back()
    page.get_by_role("link", name=re.compile("Ours event lead_created")).click()
    expect(heading(page)).to_have_text("Ours event lead_created")
    expect(page.locator("main")).to_contain_text("Meta CAPI: received")
    expect(page.locator("main")).to_contain_text("Google Ads: received")
    page.get_by_role("link", name=re.compile("^Timeline of")).click()
    expect(page.locator("main")).to_contain_text("POST /api/v1/leads")  # the form's request
    expect(page.locator("main")).to_contain_text("lead_created → google-ads")
    shot(page, "follow-lead-timeline")


def test_advancing_the_clock_on_the_overview_shows_the_polled_run(page, served_demo):
    d: Demo = served_demo
    wc = d.info["whatconverts"]
    created = httpx.post(
        f"{wc['url']}/api/v1/leads",
        auth=(wc["api_token"], wc["api_secret"]),
        data={"profile_id": wc["profile_id"], "lead_type": "phone_call",
              "contact_name": "Jamie Clocktest", "email_address": "jamie@example.com"},
    ).json()  # fmt: skip
    page.goto("/ui/")
    recent = page.locator("#recent-runs")
    expect(recent).not_to_contain_text(f"lead {created['lead_id']}")
    page.get_by_role("button", name="+1 min").click()
    expect(page.get_by_role("status")).to_contain_text("Clock advanced by 1 min")
    expect(recent).to_contain_text(f"lead {created['lead_id']}")  # the poll picked it up
    # and the page keeps itself up to date without a reload (polling)
    page.evaluate("window.__still_this_page = true")
    booking = next(
        w
        for w in httpx.get(f"{d.engine}/api/workflows").json()["items"]
        if w["name"].startswith("Booking")
    )
    started = httpx.post(f"{d.engine}/hooks/{booking['id']}", json={"email": "x@example.com",
                                                                   "slot": "11:00"})  # fmt: skip
    assert started.status_code == 202
    expect(recent.get_by_text("email, slot").first).to_be_visible()
    assert page.evaluate("window.__still_this_page === true")
    shot(page, "overview-after-clock")


def test_retry_a_failed_run_from_its_page(page, served_demo):
    d: Demo = served_demo
    page.goto(f"/ui/runs/{d.failed_run['id']}")
    expect(page.locator("#run-head")).to_contain_text("Failed")
    expect(page.locator("#run-steps")).to_contain_text("attempts 6")
    page.get_by_role("button", name="Retry from the failed step").click()
    expect(page.get_by_role("status")).to_contain_text(f"Retry of {d.failed_run['id']} started")
    expect(heading(page)).not_to_have_text(f"Run {d.failed_run['id']}")
    expect(page.locator("#run-head")).to_contain_text(f"retry of {d.failed_run['id']}")
    expect(page.locator("#run-head")).to_contain_text("Completed")
    shot(page, "run-retried")


def test_a_test_mode_event_is_tagged_and_not_dispatched(page, served_demo):
    page.goto("/ui/ours/events")
    row = page.locator("tr", has_text="appointment_booked").first
    expect(row).to_contain_text("test mode")
    expect(row).to_contain_text("not dispatched: test mode")
    expect(row).not_to_contain_text("received")
    row.get_by_role("link", name="appointment_booked").click()
    expect(heading(page)).to_have_text("Ours event appointment_booked")
    expect(page.locator("main")).to_contain_text("not dispatched: test mode")
    expect(page.locator("main")).not_to_contain_text("Payload sent to")


def test_phi_is_masked_until_revealed_and_the_choice_is_remembered(page, served_demo):
    d: Demo = served_demo
    page.goto(f"/ui/whatconverts/leads/{d.lead_id}")
    main = page.locator("main")
    expect(main).not_to_contain_text("Casey Example")
    expect(main).to_contain_text("***")
    page.get_by_role("button", name="Reveal synthetic values").click()
    expect(main).to_contain_text("Casey Example")
    page.reload()
    expect(main).to_contain_text("Casey Example")
    page.goto("/ui/")  # secrets stay masked whatever the switch says
    body = page.locator("body").inner_text()
    assert not [s for s in d.secrets if s in body]
    page.goto(f"/ui/whatconverts/leads/{d.lead_id}")
    page.get_by_role("button", name="Mask synthetic values").click()
    expect(main).not_to_contain_text("Casey Example")
