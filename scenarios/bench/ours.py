"""Ours Privacy benchmarks: /track and /batch (1,000 rows) vs a bare Starlette baseline.

The fake's figures include the asynchronous pipeline (allow-list, governance, mappings, two
recording destinations) that runs between requests; ``settle()`` at the end waits for the rest.
The baseline parses the same JSON and answers the same body, doing nothing else.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import httpx

from . import BenchContext, Measure, bare_app, benchmark, run_async

ROWS = 1000


def _fake() -> tuple[Any, str]:
    from careflow.mocks.kernel import VirtualClock
    from careflow.mocks.ours import create_app

    app = create_app(clock=VirtualClock("2026-01-01T12:00:00Z", frozen=True))
    backend = app.state.backend
    return app, backend.credentials_of(backend.state())["token"]


async def _bare_track(request: Any) -> dict[str, Any]:
    body = await request.json()
    assert body["token"] and body["event"]
    return {"success": True}


async def _bare_batch(request: Any) -> dict[str, Any]:
    body = await request.json()
    rows = body["events"]
    results = [{"index": i, "success": True} for i, _row in enumerate(rows)]
    return {"success": True, "accepted": len(rows), "failed": 0, "results": results}


async def _timed(app: Any, bodies: Any, path: str, n: int, settle: Any = None) -> float:
    """Mean seconds per request over ``n`` requests after 5 warm-up ones (settle included)."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
    ) as client:
        for _ in range(5):
            (await client.post(path, json=next(bodies))).raise_for_status()
        if settle:
            await settle()
        started = time.perf_counter()
        for _ in range(n):
            response = await client.post(path, json=next(bodies))
            if response.status_code != 200:
                raise RuntimeError(f"{path}: {response.status_code} {response.text[:200]}")
        if settle:
            await settle()
        return (time.perf_counter() - started) / n


def _track_bodies(token: str) -> Any:
    for i in itertools.count():
        yield {
            "token": token,
            "event": "lead_created",
            "distinctId": f"bench-{i}",
            "email": f"p{i % 500}@example.com",
            "eventProperties": {"lead_id": i, "value": 100},
        }


def _batch_bodies(token: str) -> Any:
    for b in itertools.count():
        yield {
            "token": token,
            "events": [
                {
                    "event": "appointment_booked",
                    "distinctId": f"b{b}-{i}",
                    "externalId": f"mrn-{i % 300}",
                    "eventProperties": {"slot": i},
                }
                for i in range(ROWS)
            ],
        }


@benchmark("ours.track")
def track(ctx: BenchContext) -> list[Measure]:
    n = ctx.n(2000, 200)
    app, token = _fake()
    bare = bare_app({("POST", "/api/v1/track"): _bare_track})
    kernel = app.state.kernel
    fake_s = run_async(_timed(app, _track_bodies(token), "/api/v1/track", n, kernel.settle))
    bare_s = run_async(_timed(bare, _track_bodies(token), "/api/v1/track", n))
    events = len(app.state.backend.state().events)
    return [
        Measure("POST /track (accept + pipeline)", fake_s * 1e6, "µs/req", bare_s * 1e6),
        Measure("/track throughput", 1 / fake_s, "events/s", 1 / bare_s, note=f"{events} events"),
    ]


@benchmark("ours.batch")
def batch(ctx: BenchContext) -> list[Measure]:
    n = ctx.n(20, 3)
    app, token = _fake()
    bare = bare_app({("POST", "/api/v1/batch"): _bare_batch})
    kernel = app.state.kernel
    fake_s = run_async(_timed(app, _batch_bodies(token), "/api/v1/batch", n, kernel.settle))
    bare_s = run_async(_timed(bare, _batch_bodies(token), "/api/v1/batch", n))
    return [
        Measure(f"POST /batch ({ROWS} rows)", fake_s * 1e3, "ms/req", bare_s * 1e3),
        Measure("/batch throughput", ROWS / fake_s, "rows/s", ROWS / bare_s),
    ]
