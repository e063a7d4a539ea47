"""``careflow bench --sockets``: the served stack against a bare Starlette app, over real sockets.

The stack is started as ``careflow up --port 0`` (a child process, its real start path and
settings); the baseline is ``serve_bare`` below — a bare Starlette app with the same uvicorn
settings and the same route shapes, answering each route with the fake's own answer to the same
request, captured once. ``wrk`` (Debian's package) drives both, one after the other, in interleaved
rounds (the order flips each round, so a machine that slows down mid-run tilts neither side);
each round gives a fake ÷ bare throughput ratio, and the table shows the median with its min-max
next to the machine's load average. Then the served engine end to end (webhook → run done) and
the stack's resident memory after 10,000 runs, and again after 10,000 more.

``--up-python`` serves the stack from another interpreter (say the venv of a checkout before a
change) against the same baseline: before/after figures from one sitting.

Long on purpose: the stack's driver, the wrk runner, the end-to-end and memory rows and the bare
baseline server they are measured against belong together (the baseline must use exactly the
settings and route shapes this module sends).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import uvicorn
from rich.console import Console
from rich.table import Table
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from careflow.mocks.kernel.vendor import basic_auth

from ..server import SERVER_OPTIONS, run_loop, spawn_up, stop_up, write_info

GOAL_RATIO = 0.70  # issue 18: every route at least 0.70 of bare Starlette's throughput
GOAL_E2E = 600  # runs/s, hook → run done
GOAL_RSS = 150  # MiB after 10,000 runs, flat after
CASPIO_WHERE = "Visits >= 0 AND (State <> 'ZZ' OR State IS NULL)"
END_TO_END = "engine end to end (hook → run done), stack rss memory"  # what --only may name
WRK_MISSING = "wrk is not installed: apt-get install -y wrk (Debian's package), then run again"
LOGIC = {
    "app": "logic",
    "action": "continue_if",
    "params": {"value": "{{ trigger.n }}", "op": "greater_than_or_equal", "other": 0},
}


@dataclass
class Target:
    """One request shape, sent to the fake at ``base`` and to the bare app at the same path."""

    name: str
    service: str
    method: str
    path: str  # with its query string
    route: str  # the path template the bare app routes (the fake's own route shape)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass
class Row:
    name: str
    fake: list[float] = field(default_factory=list)
    bare: list[float] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)

    @property
    def ratios(self) -> list[float]:
        return [f / b for f, b in zip(self.fake, self.bare, strict=True) if b]


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def lua_string(text: str) -> str:
    level = "=" * 4
    while f"]{level}]" in text:
        level += "="
    return f"[{level}[{text}]{level}]"


def wrk_script(target: Target) -> str:
    lines = [f'wrk.method = "{target.method}"']
    if target.body is not None:
        lines.append(f"wrk.body = {lua_string(target.body.decode())}")
    for key, value in target.headers.items():
        lines.append(f"wrk.headers[ {lua_string(key)} ] = {lua_string(value)}")
    return "\n".join(lines) + "\n"


@dataclass
class WrkResult:
    rate: float
    requests: int
    errors: int
    output: str = ""


def run_wrk(
    url: str, script: Path, seconds: float, connections: int, threads: int = 1
) -> WrkResult:
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    count = re.search(r"(\d+) requests in", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    if rate is None or count is None:
        raise RuntimeError(f"wrk said: {out.strip()[:300]}")
    errors = int(bad.group(1)) if bad else 0
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    return WrkResult(float(rate.group(1)), int(count.group(1)), errors, out)


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


class SocketBench:
    def __init__(
        self,
        console: Console,
        *,
        quick: bool,
        rounds: int | None,
        seconds: float | None,
        connections: int,
        up_python: str | None,
        only: list[str],
    ) -> None:
        self.console = console
        self.quick = quick
        self.rounds = rounds or (1 if quick else 3)
        self.seconds = seconds or (1.0 if quick else 3.0)
        self.connections = connections
        self.up_python = up_python
        self.only = only
        self.tmp = Path(tempfile.mkdtemp(prefix="careflow-bench-"))

    # the two servers ----------------------------------------------------------------------
    def start_fake(self) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
        info_file = self.tmp / "stack.json"
        proc = spawn_up(info_file, python=self.up_python)
        return proc, json.loads(info_file.read_text())

    def start_bare(self, routes: list[dict[str, Any]]) -> tuple[subprocess.Popen[bytes], str]:
        routes_file, info_file = self.tmp / "routes.json", self.tmp / "bare.json"
        routes_file.write_text(json.dumps(routes))
        proc = subprocess.Popen(
            [sys.executable, "-m", __name__, str(routes_file), str(info_file)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while not info_file.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"the bare server did not start: {proc.stderr.read()!r}")  # type: ignore[union-attr]
            time.sleep(0.01)
        return proc, json.loads(info_file.read_text())["url"]

    # the request shapes ---------------------------------------------------------------------
    def targets(self, info: dict[str, Any], client: httpx.Client) -> list[Target]:
        wc, cs, ours, engine = (
            info[n]["url"] for n in ("whatconverts", "caspio", "ours", "engine")
        )
        wc_auth = basic_auth(info["whatconverts"]["api_token"], info["whatconverts"]["api_secret"])[
            "Authorization"
        ]
        client.put(f"{wc}/__sandbox/quota", json={"profile": 10**9, "master": 10**9})
        client.post(f"{wc}/__sandbox/seed", json={"synthetic": {"leads": 136}}).raise_for_status()
        token = client.post(
            f"{cs}/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": info["caspio"]["client_id"],
                "client_secret": info["caspio"]["client_secret"],
            },
        ).json()["access_token"]
        seeded = client.post(f"{cs}/__sandbox/seed", json={"synthetic": {"patients": 480}})
        seeded.raise_for_status()
        records = "/integrations/rest/v3/tables/Patients/records"
        patient = client.get(
            f"{cs}{records}", params={"q.limit": "1"}, headers={"Authorization": f"Bearer {token}"}
        ).json()["Result"][0]
        row = {
            k: v
            for k, v in patient.items()
            if k not in ("PK_ID", "Patient_ID", "Created") and v is not None
        }
        form = {
            "lead_type": "web_form",
            "form_name": "Intake",
            "contact_name": "Pat Example",
            "email_address": "pat@example.com",
            "additional_fields[Reason]": "New patient",
        }
        wf = self.engine_workflow(client, engine)
        for i in range(100):
            client.post(f"{engine}/hooks/{wf}", json={"n": i}).raise_for_status()
        client.post(f"{engine}/__sandbox/settle")
        bearer = {"Authorization": f"Bearer {token}"}
        json_type = {"Content-Type": "application/json"}
        query = urlencode({"q.where": CASPIO_WHERE, "q.limit": "100"})
        return [
            Target("health", wc, "GET", "/__sandbox/health", "/__sandbox/health"),
            Target(
                "WC list", wc, "GET", "/api/v1/leads", "/api/v1/leads", {"Authorization": wc_auth}
            ),
            Target(
                "WC create",
                wc,
                "POST",
                "/api/v1/leads",
                "/api/v1/leads",
                {"Authorization": wc_auth, "Content-Type": "application/x-www-form-urlencoded"},
                urlencode(form).encode(),
            ),
            Target(
                "Caspio GET q.where",
                cs,
                "GET",
                f"{records}?{query}",
                "/integrations/rest/v3/tables/{table}/records",
                bearer,
            ),
            Target(
                "Caspio insert",
                cs,
                "POST",
                records,
                "/integrations/rest/v3/tables/{table}/records",
                {**bearer, **json_type},
                json.dumps(row).encode(),
            ),
            Target(
                "Ours track",
                ours,
                "POST",
                "/api/v1/track",
                "/api/v1/track",
                json_type,
                json.dumps(
                    {
                        "token": info["ours"]["token"],
                        "event": "lead_created",
                        "distinctId": "bench-1",
                        "email": "p1@example.com",
                        "eventProperties": {"lead_id": 1, "value": 100},
                    }
                ).encode(),
            ),
            Target("engine GET /api/runs", engine, "GET", "/api/runs", "/api/runs"),
        ]

    @staticmethod
    def engine_workflow(client: httpx.Client, engine: str) -> str:
        body = {
            "name": "bench",
            "trigger": {"app": "webhook"},
            "steps": [{"id": f"s{i}", **LOGIC} for i in range(5)],
        }
        created = client.post(f"{engine}/api/workflows", json=body)
        created.raise_for_status()
        wf = created.json()["id"]
        client.post(f"{engine}/api/workflows/{wf}/activate").raise_for_status()
        return str(wf)

    @staticmethod
    def canned(client: httpx.Client, target: Target) -> dict[str, Any]:
        """The fake's answer to one such request: the bare app's canned answer."""
        response = client.request(
            target.method, target.service + target.path, headers=target.headers, content=target.body
        )
        if response.status_code >= 400:
            raise RuntimeError(f"{target.name}: the fake answered {response.status_code}")
        return {
            "method": target.method,
            "path": target.route,
            "status": response.status_code,
            "body": response.json() if response.content else None,
        }

    # measuring ------------------------------------------------------------------------------
    def compare(self, targets: list[Target], bare_url: str) -> list[Row]:
        rows = []
        for target in targets:
            script = self.tmp / f"{len(rows)}.lua"
            script.write_text(wrk_script(target))
            row = Row(target.name)
            for r in range(self.rounds):
                sides: list[tuple[str, list[float]]] = [
                    (target.service, row.fake),
                    (bare_url, row.bare),
                ]
                for base, into in sides if r % 2 == 0 else reversed(sides):
                    result = run_wrk(base + target.path, script, self.seconds, self.connections)
                    if result.errors:
                        probe = httpx.request(
                            target.method,
                            base + target.path,
                            headers=target.headers,
                            content=target.body,
                        )
                        raise RuntimeError(
                            f"{target.name}: {result.errors} error answers from {base}, e.g. "
                            f"{probe.status_code} {probe.text[:200]}; wrk said {result.output}"
                        )
                    into.append(result.rate)
                row.loads.append(os.getloadavg()[0])
            rows.append(row)
            self.console.print(
                f"  {row.name}: fake ÷ bare {statistics.median(row.ratios):.2f} "
                f"(load {load_average()})",
                highlight=False,
            )
        return rows

    def engine_end_to_end(
        self, client: httpx.Client, info: dict[str, Any], pid: int
    ) -> list[tuple[str, str, str]]:
        """On a fresh stack: hooks fired by wrk for a few seconds, then the time until every run
        is done; repeated until 10,000 runs (then 10,000 more) to read the stack's resident
        memory."""
        engine = info["engine"]["url"]
        wf = self.engine_workflow(client, engine)
        script = self.tmp / "hook.lua"
        script.write_text(
            wrk_script(
                Target(
                    "hook",
                    engine,
                    "POST",
                    "",
                    "",
                    {"Content-Type": "application/json"},
                    b'{"n": 1}',
                )
            )
        )
        target = 1_000 if self.quick else 10_000
        rates: list[float] = []
        memory: list[tuple[int, float]] = [(0, rss_mib(pid))]
        total = 0
        for goal in (target, 2 * target):
            while total < goal:
                started = time.perf_counter()
                result = run_wrk(f"{engine}/hooks/{wf}", script, self.seconds, self.connections)
                if result.errors:
                    raise RuntimeError(f"hooks: {result.errors} error answers")
                self.wait_idle(client, engine)
                rates.append(result.requests / (time.perf_counter() - started))
                total += result.requests
            memory.append((total, rss_mib(pid)))
        (_, idle), (first_n, first), (second_n, second) = memory
        e2e = statistics.median(rates)
        ok = "✓" if e2e >= GOAL_E2E else "✗"
        mem_ok = "✓" if first < GOAL_RSS and second - first < 0.1 * first else "✗"
        return [
            (
                "engine end to end (hook → run done)",
                f"{e2e:,.0f} runs/s (min-max {min(rates):,.0f}-{max(rates):,.0f})",
                f"{ok} goal ≥ {GOAL_E2E}",
            ),
            (
                "stack RSS",
                f"{idle:.0f} MiB idle, {first:.0f} after {first_n:,} runs, "
                f"{second:.0f} after {second_n:,}",
                f"{mem_ok} goal < {GOAL_RSS} MiB, flat",
            ),
        ]

    @staticmethod
    def wait_idle(client: httpx.Client, engine: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            running = client.get(f"{engine}/api/runs", params={"status": "Running", "limit": 1})
            if not running.json()["items"]:
                return
            time.sleep(0.01)
        raise RuntimeError("the engine did not finish its runs in time")

    # the whole ------------------------------------------------------------------------------
    def run(self) -> int:
        if shutil.which("wrk") is None:
            self.console.print(f"[red]{WRK_MISSING}[/red]")
            return 1
        self.console.print(f"load average before: {load_average()}", highlight=False)
        fake, info = self.start_fake()
        bare: subprocess.Popen[bytes] | None = None
        try:
            with httpx.Client(timeout=60) as client:
                targets = [
                    t
                    for t in self.targets(info, client)
                    if not self.only or any(o.lower() in t.name.lower() for o in self.only)
                ]
                rows = []
                if targets:
                    routes = [self.canned(client, t) for t in targets]
                    bare, bare_url = self.start_bare(routes)
                    rows = self.compare(targets, bare_url)
                wanted = not self.only or any(o.lower() in END_TO_END for o in self.only)
                if wanted and rows:  # a fresh stack: the routes above filled its stores
                    stop_up(fake)
                    fake, info = self.start_fake()
                extra = self.engine_end_to_end(client, info, fake.pid) if wanted else []
        finally:
            if bare is not None:
                bare.terminate()
                bare.wait(15)
            stop_up(fake)
            shutil.rmtree(self.tmp, ignore_errors=True)
        self.console.print(self.table(rows, extra))
        return 0

    def table(self, rows: list[Row], extra: list[tuple[str, str, str]]) -> Table:
        title = (
            f"careflow bench --sockets (wrk -c{self.connections}, {self.rounds} round(s) of "
            f"{self.seconds:g} s a side; load average now {load_average()})"
        )
        table = Table(title=title)
        for column in (
            "route",
            "fake req/s",
            "bare req/s",
            "fake ÷ bare",
            "min-max",
            "load",
            "goal",
        ):
            table.add_column(column, overflow="fold")
        med: Callable[[list[float]], float] = statistics.median
        for row in rows:
            ratio = med(row.ratios)
            table.add_row(
                row.name,
                f"{med(row.fake):,.0f}",
                f"{med(row.bare):,.0f}",
                f"{ratio:.2f}",
                f"{min(row.ratios):.2f}-{max(row.ratios):.2f}",
                f"{med(row.loads):.1f}",
                f"{'✓' if ratio >= GOAL_RATIO else '✗'} ≥ {GOAL_RATIO:.2f}",
            )
        for name, value, goal in extra:
            table.add_row(name, value, "", "", "", f"{os.getloadavg()[0]:.1f}", goal)
        return table


def run_sockets(console: Console, **options: Any) -> int:
    return SocketBench(console, **options).run()


# the baseline server (run as ``python -m careflow.scenarios.bench.sockets ROUTES INFO``) ----
# A bare Starlette app served by uvicorn with the stack's own settings
# (``careflow.scenarios.server.SERVER_OPTIONS``), one process, one port. ``ROUTES`` lists
# ``{"method", "path", "status", "body"}``: each route reads its request's body (JSON or form, as
# the fake would) and answers the canned ``body`` — the fake's own answer to the same request,
# captured once — encoded per request. So the bare app does the HTTP and JSON work of the same
# route shapes and nothing else; fake ÷ bare is the cost of the fake's rules. Its URL is written
# to ``INFO`` once it listens.


def endpoint(status: int, body: Any) -> Any:
    async def answer(request: Request) -> Response:
        if request.method in ("POST", "PUT", "PATCH"):
            if "form" in request.headers.get("content-type", ""):
                await request.form()
            else:
                raw = await request.body()
                if raw:
                    json.loads(raw)
        return JSONResponse(body, status)

    return answer


def bare_app(routes: list[dict[str, Any]]) -> Starlette:
    return Starlette(
        routes=[
            Route(r["path"], endpoint(r["status"], r["body"]), methods=[r["method"]])
            for r in routes
        ]
    )


def serve_bare(routes_file: str, info_file: str) -> None:
    app = bare_app(json.loads(Path(routes_file).read_text()))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    server = uvicorn.Server(uvicorn.Config(app, **SERVER_OPTIONS))

    async def serve() -> None:
        import asyncio

        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.005)
        write_info(Path(info_file), {"url": f"http://127.0.0.1:{sock.getsockname()[1]}"})
        await task

    run_loop(serve())


if __name__ == "__main__":
    serve_bare(*sys.argv[1:3])
