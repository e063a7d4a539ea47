"""Stack-level benchmarks: cold start of ``careflow up`` and, for every registered fake, the
kernel's per-request cost."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from careflow.mocks import VENDORS

from ..server import spawn_up, stop_up
from . import BenchContext, Measure, bare_app, benchmark, run_async, time_requests


@benchmark("stack.cold_start")
def cold_start(ctx: BenchContext) -> list[Measure]:
    """Wall time from ``careflow up --port 0`` to its info file (the readiness signal), against
    a bare ``python -c "import fastapi, uvicorn"`` in interleaved rounds (best of each)."""
    rounds = ctx.n(3, 1)
    times, imports = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import fastapi, uvicorn"], check=True)
        imports.append(time.perf_counter() - started)
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            proc = spawn_up(Path(tmp) / "stack.json")
            times.append(time.perf_counter() - started)
            stop_up(proc)
    return [
        Measure(
            f"up → info file vs import fastapi, uvicorn (best of {rounds})",
            min(times) * 1000,
            "ms",
            min(imports) * 1000,
            note=f"goal < 500 ms quiet, ≤ 1.3x; load {os.getloadavg()[0]:.1f}",
        )
    ]


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
