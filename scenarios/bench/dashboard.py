"""Dashboard benchmark: time to first contentful paint of ``/ui/runs`` with 1,000 runs in the
store, measured in headless Chromium (the Performance API's ``first-contentful-paint``)."""

from __future__ import annotations

import statistics
from typing import Any

import httpx

from . import BenchContext, Measure, benchmark

RUNS = 1000
WORKFLOW = {
    "name": "bench: webhook to logic",
    "trigger": {"app": "webhook"},
    "steps": [
        {
            "id": "check",
            "app": "logic",
            "action": "continue_if",
            "params": {"value": "{{ trigger.n }}", "op": "greater_than_or_equal", "other": 0},
        }
    ],
}
PAINT = """() => {
    const paint = performance.getEntriesByName("first-contentful-paint")[0];
    const nav = performance.getEntriesByType("navigation")[0];
    return {fcp: paint ? paint.startTime : null, ttfb: nav.responseStart, html: nav.responseEnd};
}"""


def fill_runs(engine: str, n: int) -> int:
    """``n`` completed runs through the engine's webhook trigger (its public API)."""
    with httpx.Client(base_url=engine, timeout=60) as http:
        workflow = http.post("/api/workflows", json=WORKFLOW).json()
        http.post(f"/api/workflows/{workflow['id']}/activate").raise_for_status()
        for i in range(n):
            http.post(f"/hooks/{workflow['id']}", json={"n": i}).raise_for_status()
        http.post("/__sandbox/settle").raise_for_status()
        return len(http.get("/api/runs", params={"limit": 1000}).json()["items"])


def first_paints(browser: Any, url: str, rounds: int) -> tuple[list[float], list[float]]:
    """First contentful paint of a first visit (new context, cold cache), and the server's
    time to first byte, per round."""
    paints, ttfbs = [], []
    for _ in range(rounds):
        context = browser.new_context()
        page = context.new_page()
        page.goto(url, wait_until="load")
        page.wait_for_function("performance.getEntriesByName('first-contentful-paint').length > 0")
        timing = page.evaluate(PAINT)
        paints.append(timing["fcp"])
        ttfbs.append(timing["ttfb"])
        context.close()
    return paints, ttfbs


@benchmark("dashboard.runs_first_paint")
def runs_first_paint(ctx: BenchContext) -> list[Measure]:
    from ..dashboard.browser import INSTALL_HINT, find_chromium, launch

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if find_chromium() is None or sync_playwright is None:
        note = f"skipped: needs Chromium (`{INSTALL_HINT}`) and playwright (the test extra)"
        return [Measure("/ui/runs first contentful paint", float("nan"), "ms", note=note)]

    from ..server import StackServer, bind_sockets, urls_of
    from ..stack import Stack

    n = ctx.n(RUNS, 200)
    rounds = ctx.n(7, 2)
    sockets = bind_sockets("127.0.0.1", 0)
    stack = Stack(urls=urls_of("127.0.0.1", sockets))
    server = StackServer(stack, sockets)
    server.start_in_thread()
    try:
        engine = stack.urls["engine"]
        stored = fill_runs(engine, n)
        with sync_playwright() as playwright:
            browser = launch(playwright)
            first_paints(browser, f"{engine}/ui/runs", 1)  # warm up the server's code paths
            paints, ttfbs = first_paints(browser, f"{engine}/ui/runs", rounds)
            browser.close()
    finally:
        server.stop_thread()
    return [
        Measure(
            f"/ui/runs first contentful paint, {stored:,} runs (median of {rounds})",
            statistics.median(paints),
            "ms",
            note=f"goal < 300 ms; best {min(paints):.0f} ms, worst {max(paints):.0f} ms",
        ),
        Measure(
            "  of which the server's time to first byte",
            statistics.median(ttfbs),
            "ms",
            note="the engine API call and the page render",
        ),
    ]
