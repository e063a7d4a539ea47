"""Shared fixtures of the dashboard tests: one stack with the showcase scenario's data per
worker (in-process for the page tests, served on free loopback ports for the browser tests), and
one headless Chromium per worker."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from careflow.scenarios.dashboard.browser import INSTALL_HINT, find_chromium
from careflow.scenarios.dashboard.showcase import showcase_path
from careflow.scenarios.driver import StackDriver
from careflow.scenarios.format import load_scenario
from careflow.scenarios.runner import ScenarioRunner

ARTIFACTS = Path(os.environ.get("CAREFLOW_TEST_ARTIFACTS", "test-artifacts")) / "dashboard"


@dataclass
class Demo:
    """What the showcase left behind, found through the stack's APIs."""

    engine: str
    info: dict[str, Any]
    lead_id: int
    lead_run: dict[str, Any]
    web_lead_id: int
    failed_run: dict[str, Any]
    intake_workflow: str
    live_event: dict[str, Any]
    test_event: dict[str, Any]
    secrets: list[str] = field(default_factory=list)


def find_demo(http: httpx.Client, engine: str) -> Demo:
    info = http.get(f"{engine}/__sandbox/stack").json()
    runs = http.get(f"{engine}/api/runs").json()["items"]
    lead_runs = [r for r in runs if (r.get("trigger") or {}).get("lead_id")]
    lead_run = next(r for r in lead_runs if r["trigger"]["lead_type"] == "Phone Call")
    web = next(r for r in lead_runs if r["trigger"]["lead_type"] == "Web Form")
    events = http.get(f"{info['ours']['url']}/__sandbox/events").json()["items"]
    secrets = [
        str(v)
        for entry in info.values()
        for k, v in entry.items()
        if k in ("api_token", "api_secret", "master_token", "master_secret", "client_id")
        or k in ("client_secret", "token", "test_token")
    ]
    return Demo(
        engine=engine,
        info=info,
        lead_id=lead_run["trigger"]["lead_id"],
        lead_run=lead_run,
        web_lead_id=web["trigger"]["lead_id"],
        failed_run=next(r for r in runs if r["status"] == "Failed"),
        intake_workflow=lead_run["workflow_id"],
        live_event=next(e for e in events if e["mode"] == "live"),
        test_event=next(e for e in events if e["mode"] == "test"),
        secrets=secrets,
    )


def run_showcase(driver: StackDriver) -> None:
    result = ScenarioRunner(driver).run(load_scenario(showcase_path()))
    assert result.passed, [f.message for f in result.failures]


# browser --------------------------------------------------------------------------------------


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests skip with one line where no Chromium is installed."""
    if find_chromium() is not None:
        return
    skip = pytest.mark.skip(
        reason=f"no Chromium for the dashboard's browser tests: `{INSTALL_HINT}`"
    )
    for item in items:
        if item.get_closest_marker("browser") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def served_demo() -> Iterator[Demo]:
    """A stack on free loopback ports (one per worker), with the showcase's data."""
    from careflow.scenarios.server import StackServer, bind_sockets, urls_of
    from careflow.scenarios.stack import Stack

    sockets = bind_sockets("127.0.0.1", 0)
    stack = Stack(urls=urls_of("127.0.0.1", sockets))
    server = StackServer(stack, sockets)
    server.start_in_thread()
    try:
        engine = stack.urls["engine"]
        run_showcase(StackDriver.remote(engine))
        with httpx.Client(timeout=30) as http:
            yield find_demo(http, engine)
    finally:
        server.stop_thread()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per test module on a worker. Not per session: Playwright's sync API keeps an
    event loop running in the main thread while it is open, which would break any later test
    of another module that calls ``asyncio.run``."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from careflow.scenarios.dashboard.browser import launch

    with sync_api.sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, served_demo: Demo) -> Iterator[Any]:
    """A fresh browser context (no cookies) on the served stack; any request that leaves
    loopback fails the test (the dashboard ships every asset: no CDN)."""
    context = browser.new_context(
        base_url=served_demo.engine, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(20_000)  # a loaded 2-core CI machine, not the code
    remote: list[str] = []

    def guard(route: Any) -> None:
        host = httpx.URL(route.request.url).host
        if host in ("127.0.0.1", "localhost", "::1") or route.request.url.startswith("data:"):
            route.continue_()
        else:
            remote.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    yield page
    context.close()
    assert not remote, f"the page asked for non-loopback URLs: {remote}"
