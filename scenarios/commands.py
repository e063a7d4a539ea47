"""The ``careflow`` commands (Typer). The entry point is ``careflow.scenarios.cli``.

Each command imports what it needs when it runs, so ``careflow --help`` and the small helpers
scripts call (``careflow info``) do not pay for FastAPI and the apps. Output rules (80 columns,
CI logs, ``NO_COLOR``, ``--json``): ``scenarios.console``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from careflow.contracts.cli import contract_app

from . import stack_commands
from .console import console_for, fail
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
        with served(options, console, "careflow sandbox demo") as server:
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


# registered here, in the order `careflow --help` lists them
app.command()(stack_commands.info)
app.command("json")(stack_commands.json_value)
app.command()(stack_commands.trigger)
app.command()(stack_commands.doctor)
app.command()(stack_commands.example)
app.add_typer(stack_commands.caspio_app, name="caspio")
app.add_typer(contract_app, name="contract")


@app.command()
def bench(
    only: Annotated[
        list[str] | None,
        typer.Option("--only", metavar="TEXT", help="Run only benchmarks whose name has TEXT."),
    ] = None,
    quick: Annotated[
        bool, typer.Option("--quick", help="Fewer iterations (smoke run).", show_default=False)
    ] = False,
    sockets: Annotated[
        bool,
        typer.Option(
            "--sockets",
            help="Serve the stack and a bare Starlette app on real ports and drive both with "
            "wrk in interleaved rounds (fake ÷ bare per route, engine end to end, memory).",
            show_default=False,
        ),
    ] = False,
    rounds: Annotated[
        int | None, typer.Option(metavar="N", help="--sockets: rounds per route.")
    ] = None,
    seconds: Annotated[
        float | None, typer.Option(metavar="SECONDS", help="--sockets: seconds per wrk run.")
    ] = None,
    connections: Annotated[int, typer.Option(metavar="N", help="--sockets: wrk connections.")] = 10,
    up_python: Annotated[
        str | None,
        typer.Option(
            metavar="PYTHON",
            help="--sockets: serve the stack with this Python's careflow (e.g. a checkout "
            "before a change), against the same bare baseline.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Measure start-up and per-request costs.

    Each against a bare Starlette app doing the same work (the ratio compares across
    machines): in-process, or with --sockets over real sockets with wrk."""
    console = console_for(as_json)
    if sockets:
        if as_json:
            raise fail(console, "--json is for the in-process benchmarks, not --sockets yet", 2)
        from .bench.sockets import run_sockets

        raise typer.Exit(
            run_sockets(
                console,
                quick=quick,
                rounds=rounds,
                seconds=seconds,
                connections=connections,
                up_python=up_python,
                only=only or [],
            )
        )
    from .bench import run_benchmarks

    raise typer.Exit(run_benchmarks(console, only=only or [], quick=quick, as_json=as_json))
