"""Stack-level benchmarks: cold start of ``careflow up`` and, for every registered fake, the
kernel's per-request cost."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import httpx

from careflow.mocks import VENDORS

from ..server import spawn_up, stop_up
from . import BenchContext, Measure, bare_app, benchmark, run_async, time_requests


@benchmark("stack.cold_start")
def cold_start(ctx: BenchContext) -> list[Measure]:
    """Wall time from ``careflow up --port 0`` to its info file (the readiness signal)."""
    rounds = ctx.n(3, 1)
    times = []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            proc = spawn_up(Path(tmp) / "stack.json")
            times.append(time.perf_counter() - started)
            stop_up(proc)
    best = min(times)
    return [Measure(f"up → info file (best of {rounds})", best * 1000, "ms", note="goal < 1500 ms")]


@benchmark("stack.health")
def health(ctx: BenchContext) -> list[Measure]:
    """Per-request cost of each fake's /__sandbox/health vs a bare Starlette app, in-process."""
    n = ctx.n(3000, 300)

    async def same(_request: object) -> dict[str, str]:
        return {"status": "ok", "service": "bare"}

    def get(client: httpx.AsyncClient, _i: int):  # type: ignore[no-untyped-def]
        return client.get("/__sandbox/health")

    bare_s = run_async(time_requests(bare_app({("GET", "/__sandbox/health"): same}), get, n))
    measures = []
    for name in VENDORS:
        fake_s = run_async(time_requests(VENDORS[name].create_app(), get, n))
        measures.append(
            Measure(f"GET /__sandbox/health ({name})", fake_s * 1e6, "µs/req", bare_s * 1e6)
        )
    return measures
