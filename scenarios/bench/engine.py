"""Engine benchmarks: runs per second of a 5-step workflow in-process, memory after 10,000 runs."""

from __future__ import annotations

import asyncio
import resource
import time

import httpx
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from careflow.engine import Engine
from careflow.mocks.kernel import VirtualClock

from . import BenchContext, Measure, benchmark

LOGIC = {
    "app": "logic",
    "action": "continue_if",
    "params": {"value": "{{ trigger.n }}", "op": "greater_than_or_equal", "other": 0},
}


def _steps(http: bool) -> list[dict]:
    steps = [{"id": f"s{i}", **LOGIC} for i in range(5)]
    if http:
        steps[2] = {
            "id": "s2",
            "app": "http",
            "action": "request",
            "params": {
                "method": "POST",
                "url": "http://127.0.0.1/t",
                "json": {"n": "{{ trigger.n }}"},
            },
        }
    return steps


def _rss_mib() -> float:
    """Current resident memory of this process."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


async def _runs_per_second(n: int, http: bool) -> tuple[float, int, Engine]:
    async def ok(_request: object) -> JSONResponse:
        return JSONResponse({"ok": True})

    target = Starlette(routes=[Route("/t", ok, methods=["POST"])])
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=target))
    engine = Engine(clock=VirtualClock(frozen=True), http=client)
    wf = engine.create_workflow(
        {"name": "bench", "trigger": {"app": "webhook"}, "steps": _steps(http)}
    )["id"]
    await engine.activate(wf)
    started = time.perf_counter()
    batch = 100
    for start in range(0, n, batch):
        engine.accept(wf, [{"n": i} for i in range(start, start + batch)])
        await engine.run_until_idle()
    elapsed = time.perf_counter() - started
    completed = len(engine.list_runs(wf, "Completed"))
    await client.aclose()
    return n / elapsed, completed, engine


@benchmark("engine.runs")
def runs(ctx: BenchContext) -> list[Measure]:
    n = ctx.n(10_000, 1_000)
    before = _rss_mib()
    logic_rate, done, engine = asyncio.run(_runs_per_second(n, http=False))
    assert done == n, f"{done} of {n} runs completed"
    grown = _rss_mib() - before
    del engine
    http_rate, _, _ = asyncio.run(_runs_per_second(ctx.n(2_000, 200), http=True))
    return [
        Measure(
            "5-step workflow (logic), in-process",
            logic_rate,
            "runs/s",
            note="goal ≥ 3000 (quiet machine)",
        ),
        Measure("5 steps incl. 1 HTTP call, in-process", http_rate, "runs/s"),
        Measure(
            f"engine memory after {n:,} runs",
            grown,
            "MiB",
            note="RSS growth; finished runs capped (CAREFLOW_MAX_RUNS, 10,000)",
        ),
    ]
