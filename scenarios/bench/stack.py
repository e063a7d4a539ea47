"""Stack-level benchmarks: cold start of ``careflow up`` and the kernel's per-request cost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from . import BenchContext, Measure, bare_app, benchmark, run_async, time_requests


@benchmark("stack.cold_start")
def cold_start(ctx: BenchContext) -> list[Measure]:
    """Wall time from ``careflow up --port 0`` to its info file (the readiness signal)."""
    rounds = ctx.n(3, 1)
    times = []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            info = Path(tmp) / "stack.json"
            started = time.perf_counter()
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "scenarios.cli",
                    "up",
                    "--port",
                    "0",
                    "--info-file",
                    str(info),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env={**os.environ, "COLUMNS": "200"},
            )
            try:
                while not info.exists():
                    if proc.poll() is not None:
                        raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "died")
                    if time.perf_counter() - started > 30:
                        raise RuntimeError("careflow up not ready in 30 s")
                    time.sleep(0.002)
                times.append(time.perf_counter() - started)
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(10)
    best = min(times)
    return [Measure(f"up → info file (best of {rounds})", best * 1000, "ms", note="goal < 1500 ms")]


@benchmark("stack.health")
def health(ctx: BenchContext) -> list[Measure]:
    """Per-request cost of a fake's /__sandbox/health vs a bare Starlette app, in-process."""
    from mocks.whatconverts import create_app

    n = ctx.n(3000, 300)
    fake = create_app()

    async def same(_request: object) -> dict[str, str]:
        return {"status": "ok", "service": "whatconverts"}

    bare = bare_app({("GET", "/__sandbox/health"): same})

    def get(client: httpx.AsyncClient, _i: int):  # type: ignore[no-untyped-def]
        return client.get("/__sandbox/health")

    fake_s = run_async(time_requests(fake, get, n))
    bare_s = run_async(time_requests(bare, get, n))
    return [Measure("GET /__sandbox/health", fake_s * 1e6, "µs/req", bare_s * 1e6)]
