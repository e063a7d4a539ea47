"""``careflow bench``: a small benchmark harness.

Modules in this package register benchmarks with ``@benchmark("name")``; a benchmark gets a
``BenchContext`` and returns ``Measure``s. A measure with a ``baseline`` (a bare Starlette app
doing the same work) is shown with the ratio, so figures compare across machines. The generic
modules (``GENERIC``) measure the stack, the engine and the scenarios, iterating the vendor
registry where they touch fakes; a vendor's own benchmarks live in a module named after it,
loaded when that vendor is registered (``careflow.mocks.VENDORS``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import import_module
from importlib.util import find_spec
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from careflow.heap import settle_heap
from careflow.mocks import VENDORS

# modules that belong to no vendor
GENERIC = ("stack", "engine", "scenarios", "dashboard", "sockets", "durable")


@dataclass
class Measure:
    name: str
    value: float
    unit: str
    baseline: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return self.value / self.baseline if self.baseline else None


@dataclass
class BenchContext:
    quick: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def n(self, full: int, quick: int) -> int:
        return quick if self.quick else full


BenchFn = Callable[[BenchContext], list[Measure]]
BENCHMARKS: dict[str, BenchFn] = {}


def benchmark(name: str) -> Callable[[BenchFn], BenchFn]:
    def register(fn: BenchFn) -> BenchFn:
        BENCHMARKS[name] = fn
        return fn

    return register


def modules() -> tuple[str, ...]:
    """The benchmark modules to load: the generic ones, then one per registered vendor."""
    names = (*GENERIC, *VENDORS)
    return tuple(n for n in names if find_spec(f"{__name__}.{n}") is not None)


def discover() -> dict[str, BenchFn]:
    for name in modules():
        import_module(f"{__name__}.{name}")
    return BENCHMARKS


def bare_app(routes: dict[tuple[str, str], Callable[[Request], Awaitable[Any]]]) -> Starlette:
    """A bare Starlette app answering the same routes: the baseline of a ratio."""

    def endpoint(handler: Callable[[Request], Awaitable[Any]]) -> Any:
        async def call(request: Request) -> JSONResponse:
            return JSONResponse(await handler(request))

        return call

    return Starlette(
        routes=[Route(path, endpoint(h), methods=[m]) for (m, path), h in routes.items()]
    )


async def time_requests(
    app: Any, make_request: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]], n: int
) -> float:
    """Mean seconds per request over ``n`` in-process requests (after a short warm-up)."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
    ) as client:
        for i in range(min(20, n)):
            (await make_request(client, i)).raise_for_status()
        started = time.perf_counter()
        for i in range(n):
            response = await make_request(client, i)
            if response.status_code >= 400:
                raise RuntimeError(f"benchmark request failed: {response.status_code}")
        return (time.perf_counter() - started) / n


def run_async(coro: Awaitable[Any]) -> Any:
    return asyncio.run(coro)  # type: ignore[arg-type]


def run_benchmarks(console: Console, *, only: list[str], quick: bool, as_json: bool = False) -> int:
    """Run the benchmarks and print a table (``as_json``: a JSON document on stdout)."""
    ctx = BenchContext(quick=quick)
    rows: list[dict[str, Any]] = []
    settle_heap()  # the garbage-collector settings of ``careflow up``, which these stand for
    table = Table(title="careflow bench" + (" (quick)" if quick else ""))
    # names and figures stay whole; measure and note wrap between words
    for column in ("benchmark", "measure", "value", "baseline", "ratio", "note"):
        table.add_column(column, no_wrap=column not in ("measure", "note"))
    failures = 0
    for name, fn in sorted(discover().items()):
        if only and not any(o in name for o in only):
            continue
        try:
            measures = fn(ctx)
        except Exception as exc:
            failures += 1
            table.add_row(name, "[red]error[/red]", str(exc), "", "", "")
            rows.append({"benchmark": name, "error": str(exc)})
            continue
        for m in measures:
            rows.append(
                {
                    "benchmark": name,
                    "measure": m.name,
                    "value": m.value,
                    "unit": m.unit,
                    "baseline": m.baseline,
                    "ratio": m.ratio,
                    "note": m.note,
                }
            )
            table.add_row(
                name,
                m.name,
                f"{m.value:,.3f} {m.unit}",
                f"{m.baseline:,.3f} {m.unit}" if m.baseline else "",
                f"{m.ratio:.2f}x" if m.ratio else "",
                m.note,
            )
    if as_json:
        import json
        import sys

        sys.stdout.write(json.dumps({"quick": quick, "results": rows}, indent=2) + "\n")
    else:
        console.print(table)
    return 1 if failures else 0
