"""The ``careflow`` command line.

Cheap to start: each command imports what it needs when it runs, so ``careflow --help`` and the
small helpers scripts call (``careflow json``, ``careflow info``) do not pay for FastAPI and
the apps. Output rules (80 columns, CI logs, ``NO_COLOR``, ``--json``): ``scenarios.console``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from careflow.contracts.cli import contract_app

from .serving import (
    DEFAULT_PORT,
    AllowRemoteOpt,
    DataDirOpt,
    HostOpt,
    InfoFileOpt,
    JsonOpt,
    PortOpt,
    SeedOpt,
    ServeError,
    ServeOptions,
    TlsOpt,
)

if TYPE_CHECKING:
    from rich.console import Console

app = typer.Typer(
    name="careflow",
    help="careflow-sandbox: fake WhatConverts, Caspio and Ours Privacy servers, a Keragon-like "
    "workflow engine, contract checks and end-to-end scenarios, all on synthetic data.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # plain help: reads the same at 80 columns, in a pipe, in CI logs
)


def console_for(as_json: bool = False) -> Console:
    from .console import make_console

    return make_console(stderr=as_json)


def fail(console: Console, message: str, code: int = 1) -> typer.Exit:
    """Say why in one line (red where colour is on) and return the exit to raise."""
    console.print(message, style="red", markup=False, soft_wrap=True)
    return typer.Exit(code)


QuietOpt = Annotated[
    bool,
    typer.Option(
        "--quiet", help="Only the summary, and timelines of failures.", show_default=False
    ),
]
JunitOpt = Annotated[
    Path | None,
    typer.Option(
        metavar="FILE", help="Write JUnit XML: one test case per scenario, failures and timeline."
    ),
]
ReportOpt = Annotated[
    Path | None,
    typer.Option(
        metavar="FILE.html", help="Write an HTML report: summary, failures, every timeline."
    ),
]
FollowOpt = Annotated[
    str | None,
    typer.Option(
        metavar="ID", help="Show only the timeline rows of this correlation id (or its prefix)."
    ),
]
StackUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--url", metavar="URL", help="Engine URL of a running stack, e.g. http://127.0.0.1:8400."
    ),
]
StackInfoOpt = Annotated[
    Path | None,
    typer.Option(
        "--info-file", metavar="FILE", help="A running stack's info file (careflow up's)."
    ),
]


# serving -------------------------------------------------------------------------------------


@app.command()
def up(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = DEFAULT_PORT,
    info_file: InfoFileOpt = None,
    data_dir: DataDirOpt = None,
    seed: SeedOpt = 0,
    tls: TlsOpt = False,
    allow_remote: AllowRemoteOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Serve the fakes and the engine until Ctrl-C or SIGTERM.

    One port each from --port (engine, WhatConverts, Caspio, Ours). Prints the URLs and demo
    credentials as KEY=value lines and the dashboard's URL; --info-file FILE gets the same JSON
    once every server answers."""
    from .console import emit_json
    from .server import write_info
    from .serving import build_server, print_ready

    console = console_for(as_json)
    options = ServeOptions(host, port, info_file, data_dir, seed, tls, allow_remote)
    try:
        server, ca = build_server(options)
    except ServeError as exc:
        raise fail(console, str(exc)) from None

    def ready() -> None:
        print_ready(console, server)
        if info_file is not None:
            write_info(info_file, server.info())
        if as_json:
            emit_json(server.info())
        console.print("ready — Ctrl-C to stop", style="green")

    try:
        server.run_forever(on_ready=ready)
    finally:
        if info_file is not None:
            info_file.unlink(missing_ok=True)  # the stack is gone: so is its readiness signal
        if ca is not None:
            ca.close()
    console.print("stopped")


@app.command()
def demo(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = DEFAULT_PORT,
    info_file: InfoFileOpt = None,
    data_dir: DataDirOpt = None,
    seed: SeedOpt = 0,
    tls: TlsOpt = False,
    keep: Annotated[
        bool,
        typer.Option(
            "--keep",
            help="Leave the stack up afterwards (with a showcase for the dashboard), until Ctrl-C.",
            show_default=False,
        ),
    ] = False,
    only: Annotated[
        list[str] | None,
        typer.Option("--only", metavar="TEXT", help="Run only scenarios whose file name has TEXT."),
    ] = None,
    quiet: QuietOpt = False,
    junit: JunitOpt = None,
    report: ReportOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Serve the stack and run every built-in scenario on it.

    The stack takes the same flags as `careflow up`; a busy port stops the demo with one line
    naming it (--port 0 picks free ports). Exit 1 if a scenario fails."""
    from .format import builtin_scenarios, load_scenario
    from .serving import served

    console = console_for(as_json)
    paths = [p for p in builtin_scenarios() if not only or any(o in p.name for o in only)]
    options = ServeOptions(host, port, info_file, data_dir, seed, tls)
    try:
        with served(options, console, "careflow sandbox (demo)") as server:
            engine = server.stack.urls["engine"]
            verify = server.tls.client_context if server.tls else True
            results = _run_and_report(
                [load_scenario(p) for p in paths],
                console,
                url=engine,
                shared=False,
                verify=verify,
                quiet=quiet,
                junit=junit,
                report=report,
                as_json=as_json,
                title="demo summary",
                stack=server.info(),
            )
            if keep:
                _keep_up(console, engine, verify)
    except ServeError as exc:
        raise fail(console, str(exc)) from None
    raise typer.Exit(0 if all(r.passed for r in results) else 1)


def _keep_up(console: Console, engine: str, verify: Any) -> None:
    """Run the dashboard's showcase (each scenario reset the stack: it runs last, so the
    dashboard has a lead followed to its row and event, a test-mode event and a failed run to
    show), then wait for Ctrl-C."""
    import signal
    import threading

    from .dashboard.showcase import showcase_path
    from .driver import StackDriver
    from .format import load_scenario
    from .report import print_result
    from .runner import ScenarioRunner

    driver = StackDriver.remote(engine, verify=verify)  # --tls: the stack's CA
    showcase = ScenarioRunner(driver).run(load_scenario(showcase_path()))
    print_result(console, showcase, quiet=True)  # only if it failed
    console.print(f"dashboard: {engine}/ui/", soft_wrap=True)
    console.print("the stack stays up — Ctrl-C to stop", style="green")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


@app.command("run")
def run_scenarios(
    files: Annotated[
        list[str],
        typer.Argument(metavar="SCENARIO", hidden=True),  # described in the docstring
    ],
    url: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            help="Engine URL of a running stack (careflow up): each scenario resets it.",
        ),
    ] = None,
    host: Annotated[
        str | None,
        typer.Option(metavar="HOST", help="Serve the stack for the run on this interface."),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            metavar="PORT",
            help="Serve the stack for the run on real ports from PORT (0: free ports). Without "
            "--port, --host, --tls or --info-file the run is in-process.",
        ),
    ] = None,
    info_file: InfoFileOpt = None,
    data_dir: DataDirOpt = None,
    seed: SeedOpt = 0,
    tls: TlsOpt = False,
    quiet: QuietOpt = False,
    follow: FollowOpt = None,
    junit: JunitOpt = None,
    report: ReportOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run scenarios and print each timeline.

    SCENARIO: a YAML file, a folder of them, or a built-in name (`careflow scenarios`).
    In-process by default; --url runs them on a running stack, --port (or --host, --tls,
    --info-file) serves one for the run, as `careflow up` would. Exit 1 if an expectation
    fails, 2 on bad usage."""
    from .format import ScenarioError, load_scenario
    from .running import StackUnreachable, scenario_paths
    from .serving import served

    console = console_for(as_json)
    try:
        scenarios = [load_scenario(p) for f in files for p in scenario_paths(f)]
    except (ScenarioError, FileNotFoundError) as exc:
        raise fail(console, str(exc), 2) from None
    serve = port is not None or host is not None or tls or info_file is not None
    if serve and url:
        raise fail(
            console,
            "--url runs on a running stack; --port/--host/--tls/--info-file "
            "serve one for the run: give one or the other",
            2,
        )
    options = dict(quiet=quiet, follow=follow, junit=junit, report=report, as_json=as_json)
    try:
        if serve:
            opts = ServeOptions(host or "127.0.0.1", port or 0, info_file, data_dir, seed, tls)
            with served(opts, console, "careflow sandbox") as server:
                verify = server.tls.client_context if server.tls else True
                results = _run_and_report(
                    scenarios,
                    console,
                    url=server.stack.urls["engine"],
                    shared=False,
                    verify=verify,
                    stack=server.info(),
                    **options,  # type: ignore[arg-type]
                )
        else:
            results = _run_and_report(
                scenarios,
                console,
                url=url,
                seed=seed,
                data_dir=data_dir,
                **options,  # type: ignore[arg-type]
            )
    except (StackUnreachable, ServeError) as exc:
        raise fail(console, str(exc), 2) from None
    raise typer.Exit(0 if all(r.passed for r in results) else 1)


def _run_and_report(
    scenarios: list[Any],
    console: Console,
    *,
    junit: Path | None,
    report: Path | None,
    as_json: bool,
    stack: dict[str, Any] | None = None,
    **options: Any,
) -> list[Any]:
    from .console import emit_json
    from .results import to_json, write_reports
    from .running import execute

    results = execute(scenarios, console, **options)
    for line in write_reports(results, junit=junit, report=report):
        console.print(line, soft_wrap=True, markup=False)
    if as_json:
        emit_json(to_json(results, **({"stack": stack} if stack else {})))
    return results


@app.command("scenarios")
def list_scenarios(as_json: JsonOpt = False) -> None:
    """List the built-in scenarios (shipped in the package)."""
    from rich.padding import Padding

    from .console import emit_json
    from .format import builtin_scenarios, load_scenario
    from .report import describe

    found = []
    for path in builtin_scenarios():
        scenario = load_scenario(path)
        found.append(
            {
                "name": path.stem,
                "title": scenario.name,
                "description": describe(scenario.description or "", first_paragraph=True),
            }
        )
    if as_json:
        emit_json(found)
        return
    console = console_for()
    console.print("built-in scenarios (careflow run NAME runs one):", style="bold")
    for item in found:
        console.print(item["name"], style="cyan", markup=False, soft_wrap=True)
        text = f"{item['title']}. {item['description']}".replace("..", ".")
        console.print(Padding(text, (0, 0, 0, 4)), markup=False)


# a running stack ---------------------------------------------------------------------------


@app.command()
def info(
    info_file: StackInfoOpt = None,
    url: StackUrlOpt = None,
    wait: Annotated[
        float,
        typer.Option(
            metavar="SECONDS",
            help="Wait this long for the stack to be up (its info file written, its servers "
            "answering) before giving up.",
        ),
    ] = 0,
    as_json: JsonOpt = False,
) -> None:
    """A running stack's URLs and credentials as KEY=value lines.

    From --info-file (careflow up's) or --url (its engine; http://127.0.0.1:8400 by default);
    --wait SECONDS waits for it to come up, so a script can start `careflow up &` and go on."""
    from .console import credential_lines, emit_json
    from .serving import wait_for_info

    console = console_for(as_json)
    try:
        found = wait_for_info(info_file, url, wait)
    except ServeError as exc:
        raise fail(console, str(exc)) from None
    if as_json:
        emit_json(found)
        return
    for line in credential_lines(found):
        console.print(line, soft_wrap=True, markup=False)


@app.command("json")
def json_value(
    key: Annotated[
        str,
        typer.Argument(metavar="KEY", hidden=True),
    ],
    file: Annotated[
        str,
        typer.Argument(metavar="FILE", hidden=True),
    ] = "-",
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print text values JSON-quoted too.", show_default=False),
    ] = False,
) -> None:
    """Print one value of a JSON document (no jq needed).

    KEY is a dotted path (engine.url, whatconverts.api_token, items.0.id; "." for all) into
    FILE (an info file, say) or stdin. Text prints as is, anything else as one line of JSON,
    so that a script can read stack.json or an API's answer."""
    import json

    console = console_for(True)
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text()
        value: Any = json.loads(text)
    except (OSError, ValueError) as exc:
        raise fail(console, f"{file}: not a JSON document ({exc})", 2) from None
    for part in [] if key == "." else key.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif (
            isinstance(value, list)
            and part.lstrip("-").isdigit()
            and -len(value) <= int(part) < len(value)
        ):
            value = value[int(part)]
        else:
            has = ", ".join(map(str, value)) if isinstance(value, dict) else type(value).__name__
            raise fail(console, f"{key}: no {part!r} in {file} (there: {has})")
    if isinstance(value, str) and not as_json:
        sys.stdout.write(value + "\n")
    else:
        sys.stdout.write(json.dumps(value) + "\n")


@app.command()
def trigger(
    event: Annotated[
        str | None,
        typer.Argument(metavar="EVENT", hidden=True),
    ] = None,
    field: Annotated[
        list[str] | None,
        typer.Option(
            "--field",
            metavar="KEY=VALUE",
            help="Set a field of the synthetic data (repeatable), e.g. --field lead_type=web_form.",
        ),
    ] = None,
    url: StackUrlOpt = None,
    info_file: StackInfoOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Fire one vendor event at a running stack.

    EVENT is <vendor>.<event> (run without it for the list): a new or updated WhatConverts
    lead, a Caspio record insert or update, an Ours track, with synthetic data. Prints the
    correlation id and its timeline on the dashboard. The stack is the one at
    http://127.0.0.1:8400 unless --url or --info-file says another."""
    from .console import emit_json
    from .driver import DriverError
    from .serving import read_info
    from .trigger import fire, parse_overrides, registry

    console = console_for(as_json)
    found = registry()
    if event is None:
        if as_json:
            emit_json([{"event": n, "does": t.help} for n, t in found.items()])
            return
        console.print("events (careflow trigger EVENT fires one):", style="bold")
        width = max(map(len, found))
        for name, item in found.items():
            console.print(f"  {name.ljust(width)}  {item.help}", soft_wrap=True, markup=False)
        return
    if event not in found:
        raise fail(console, f"unknown event {event!r}: one of {', '.join(found)}", 2)
    try:
        overrides = parse_overrides(field or [])
        stack = read_info(info_file, url)
        fired = fire(stack, event, overrides)
    except ValueError as exc:
        raise fail(console, str(exc), 2) from None
    except ServeError as exc:
        raise fail(console, str(exc)) from None
    except (DriverError, OSError) as exc:
        raise fail(console, f"{event}: {exc}") from None
    if as_json:
        emit_json(fired)
        return
    made = ", ".join(f"{k}={v}" for k, v in fired["result"].items() if k != "note")
    console.print(f"{event}: {made}", soft_wrap=True, markup=False)
    console.print(f"correlation id: {fired['correlation_id']}", soft_wrap=True, markup=False)
    console.print(f"timeline: {fired['timeline_url']}", soft_wrap=True, markup=False)
    if "note" in fired["result"]:
        console.print(fired["result"]["note"], style="dim", soft_wrap=True, markup=False)


@app.command()
def doctor(
    host: HostOpt = "127.0.0.1",
    port: Annotated[
        int | None,
        typer.Option(metavar="PORT", help=f"First of the ports to check (default {DEFAULT_PORT})."),
    ] = None,
    url: StackUrlOpt = None,
    info_file: StackInfoOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check this machine for the sandbox and say what to fix.

    Python, the ports `careflow up` takes, a running stack (with --url or --info-file),
    Chromium for the dashboard's browser tests, wrk for `bench --sockets`. Exit 1 if a check
    failed (a missing optional tool is a warning)."""
    from .console import emit_json
    from .doctor import report, run_checks

    checks = run_checks(host=host, port=port, url=url, info_file=info_file)
    found = report(checks)
    if as_json:
        emit_json(found)
    else:
        console = console_for()
        marks = {"ok": ("ok  ", "green"), "warn": ("warn", "yellow"), "fail": ("FAIL", "red")}
        for check in checks:
            mark, style = marks[check.status]
            console.print(
                f"{mark}  {check.name}: {check.detail}", style=style, soft_wrap=True, markup=False
            )
            if check.fix:
                console.print(f"      fix: {check.fix}", soft_wrap=True, markup=False)
    raise typer.Exit(0 if found["ok"] else 1)


@app.command()
def example(
    name: Annotated[
        str | None,
        typer.Argument(metavar="NAME", hidden=True),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Print a shipped example file.

    NAME: workflow (the README's workflow), walkthrough (the engine over HTTP, a bash script)
    or github-actions (a CI job); none lists them. E.g. careflow example workflow >
    workflow.yaml."""
    from .console import emit_json
    from .example import EXAMPLES, text_of

    if name is None:
        if as_json:
            emit_json([{"name": n, "file": f, "is": d} for n, (f, d) in EXAMPLES.items()])
            return
        console = console_for()
        for key, (file, does) in EXAMPLES.items():
            console.print(f"{key.ljust(15)} {file.ljust(20)} {does}", soft_wrap=True, markup=False)
        return
    if name not in EXAMPLES:
        raise fail(console_for(True), f"no example {name!r}: one of {', '.join(EXAMPLES)}", 2)
    if as_json:
        emit_json({"name": name, "file": EXAMPLES[name][0], "text": text_of(name)})
        return
    sys.stdout.write(text_of(name))


caspio_app = typer.Typer(
    help="Caspio helpers for the sandbox.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(caspio_app, name="caspio")

app.add_typer(contract_app, name="contract")


@caspio_app.command("orphans")
def caspio_orphans(
    url: Annotated[
        str, typer.Option(metavar="URL", help="Engine URL of a running stack.")
    ] = f"http://127.0.0.1:{DEFAULT_PORT}",
    info_file: StackInfoOpt = None,
    clean: Annotated[
        bool, typer.Option("--clean", help="Delete the orphaned webhooks.", show_default=False)
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """List Caspio webhooks left without a profile (--clean deletes).

    Outgoing webhooks are left behind in Caspio when the web services profile is deleted
    before the Keragon workflows that created them."""
    from rich.table import Table

    from .console import emit_json
    from .driver import DriverError
    from .running import StackUnreachable, remote_driver
    from .serving import read_info

    console = console_for(as_json)
    try:
        if info_file is not None:
            url = read_info(info_file, None)["engine"]["url"]
        driver = remote_driver(url)
        found = driver.admin("caspio", "GET", "/orphans")
    except (StackUnreachable, DriverError, ServeError) as exc:
        raise fail(console, str(exc), 2) from None
    if clean and found["count"]:
        driver.admin("caspio", "DELETE", "/orphans")
    if as_json:
        emit_json({**found, "deleted": found["count"] if clean else 0})
        return
    table = Table(title=f"orphaned Caspio webhooks ({found['count']})")
    for column in ("Id", "Name", "OutgoingUrls", "CreatedBy"):
        table.add_column(column)
    for hook in found["items"]:
        table.add_row(
            str(hook.get("Id")),
            str(hook.get("Name")),
            ", ".join(hook.get("OutgoingUrls") or []),
            str(hook.get("CreatedBy")),
        )
    console.print(table)
    if clean and found["count"]:
        console.print(f"deleted {found['count']} orphaned webhook(s)")


@app.command()
def bench(
    only: Annotated[
        list[str] | None,
        typer.Option("--only", metavar="TEXT", help="Run only benchmarks whose name has TEXT."),
    ] = None,
    quick: Annotated[
        bool, typer.Option("--quick", help="Fewer iterations (smoke run).", show_default=False)
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Measure start-up and per-request costs.

    Each against a bare Starlette app doing the same work (the ratio compares across
    machines)."""
    from .bench import run_benchmarks

    raise typer.Exit(
        run_benchmarks(console_for(as_json), only=only or [], quick=quick, as_json=as_json)
    )


def main() -> None:
    app(prog_name="careflow")


if __name__ == "__main__":
    sys.exit(main())
