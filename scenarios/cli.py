"""The ``careflow`` command line."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from careflow.contracts.cli import contract_app

app = typer.Typer(
    name="careflow",
    help="careflow-sandbox: fake WhatConverts, Caspio and Ours Privacy servers, a Keragon-like "
    "workflow engine, contract checks and end-to-end scenarios, all on synthetic data.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()

HostOpt = Annotated[str, typer.Option(help="Interface to bind (loopback by default).")]
PortOpt = Annotated[
    int,
    typer.Option(help="Engine port; WhatConverts +1, Caspio +2, Ours +3. 0 picks free ports."),
]
SeedOpt = Annotated[int, typer.Option(help="Seed of the synthetic data (same seed, same data).")]
QuietOpt = Annotated[bool, typer.Option(help="Only the summary, and timelines of failures.")]
KeepOpt = Annotated[bool, typer.Option(help="Leave the stack up afterwards, until Ctrl-C.")]


def stack_table(info: dict[str, Any], title: str = "careflow sandbox") -> Table:
    table = Table(title=title)
    table.add_column("service")
    table.add_column("URL", overflow="fold")
    table.add_column("demo credentials", overflow="fold")
    for name, entry in info.items():
        if not isinstance(entry, dict):  # e.g. the top-level "ca_file" of --tls
            continue
        creds = ", ".join(f"{k}={v}" for k, v in entry.items() if k != "url")
        table.add_row(name, entry["url"], creds or "-")
    return table


@app.command()
def up(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8400,
    info_file: Annotated[
        Path | None,
        typer.Option(help="Write the stack's URLs and credentials here once every server is up."),
    ] = None,
    seed: SeedOpt = 0,
    data_dir: Annotated[
        Path | None, typer.Option(help="Keep state here so that it survives a restart.")
    ] = None,
    allow_remote: Annotated[
        bool,
        typer.Option(help="Allow webhooks, HTTP steps and destinations to non-loopback hosts."),
    ] = False,
    tls: Annotated[
        bool,
        typer.Option(help="Serve HTTPS with a throwaway local CA (prints how to trust it)."),
    ] = False,
) -> None:
    """Run every fake and the engine, one port each, until Ctrl-C (SIGINT) or SIGTERM."""
    from .server import StackServer, bind_sockets, urls_of, write_info
    from .stack import Stack

    if info_file is not None:
        info_file.unlink(missing_ok=True)  # a stale file must never read as "ready"
    try:
        sockets = bind_sockets(host, port)
    except OSError as exc:
        console.print(f"[red]cannot bind {host}:{port}..{port + 3}: {exc}[/red] (try --port 0)")
        raise typer.Exit(1) from exc
    ca = None
    if tls:
        from .tls import local_ca  # trustme and cryptography: only for --tls

        ca = local_ca(host)
    urls = urls_of(host, sockets, "https" if ca else "http")
    stack = Stack(urls=urls, seed=seed, data_dir=data_dir, allow_remote=allow_remote)
    server = StackServer(stack, sockets, tls=ca)

    def ready() -> None:
        info = server.info()
        console.print(stack_table(info))
        if ca is not None:
            console.print(f"TLS: a throwaway local CA, {ca.ca_file}; to trust it:", highlight=False)
            for name, value in ca.env().items():
                console.print(f"  export {name}={value}", highlight=False, soft_wrap=True)
        if info_file is not None:
            write_info(info_file, info)
        console.print(f"dashboard: {info['engine']['url']}/ui/", highlight=False)
        console.print("[green]ready[/green] — Ctrl-C to stop", highlight=False)

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
    port: PortOpt = 8400,
    keep: KeepOpt = False,
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Run only scenarios whose file has this.")
    ] = None,
    seed: SeedOpt = 0,
    quiet: QuietOpt = False,
) -> None:
    """Start the stack on real ports, run every built-in scenario on synthetic data, summarise."""
    from .driver import StackDriver
    from .format import builtin_scenarios, load_scenario
    from .report import print_result, summary_table
    from .runner import ScenarioRunner
    from .server import StackServer, bind_sockets, urls_of
    from .stack import Stack

    try:
        sockets = bind_sockets("127.0.0.1", port)
    except OSError:
        console.print(f"[yellow]ports {port}..{port + 3} are busy; using free ports[/yellow]")
        sockets = bind_sockets("127.0.0.1", 0)
    stack = Stack(urls=urls_of("127.0.0.1", sockets), seed=seed)
    server = StackServer(stack, sockets)
    server.start_in_thread()
    console.print(stack_table(stack.info(), "careflow sandbox (demo)"))
    paths = [p for p in builtin_scenarios() if not only or any(o in p.name for o in only)]
    results = []
    try:
        for path in paths:
            driver = StackDriver.remote(stack.urls["engine"])
            results.append(ScenarioRunner(driver).run(load_scenario(path)))
            print_result(console, results[-1], quiet=quiet)
        console.print(summary_table(results, "demo summary"))
        if keep:
            from .dashboard.showcase import run_showcase

            # each scenario resets the stack: the showcase runs last, so the dashboard has a
            # lead followed to its row and event, a test-mode event and a failed run to show
            showcase = run_showcase(stack.urls["engine"])
            print_result(console, showcase, quiet=True)  # only if it failed
            console.print(f"dashboard: {stack.urls['engine']}/ui/", highlight=False)
            console.print("[green]the stack stays up[/green] — Ctrl-C to stop")
            import signal
            import threading

            stop = threading.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.set())
            stop.wait()
    finally:
        server.stop_thread()
    raise typer.Exit(0 if all(r.passed for r in results) else 1)


@app.command("run")
def run_scenarios(
    files: Annotated[
        list[str],
        typer.Argument(help="Scenario YAML files, or built-in names (see `careflow scenarios`)."),
    ],
    url: Annotated[
        str | None,
        typer.Option(help="Engine URL of a running stack (careflow up); in-process by default."),
    ] = None,
    quiet: Annotated[
        bool, typer.Option(help="Only the summary, and timelines of failures.")
    ] = False,
    seed: SeedOpt = 0,
    follow: Annotated[
        str | None,
        typer.Option(help="Show only the timeline rows of this correlation id (or its prefix)."),
    ] = None,
) -> None:
    """Run scenario files and print each timeline; exit 1 if an expectation fails."""
    from .format import ScenarioError, load_scenario

    try:
        scenarios = [load_scenario(scenario_path(f)) for f in files]
    except (ScenarioError, FileNotFoundError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    try:
        results = execute(scenarios, url=url, seed=seed, quiet=quiet, follow=follow)
    except StackUnreachable as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    raise typer.Exit(0 if all(r.passed for r in results) else 1)


class StackUnreachable(RuntimeError):
    """``--url`` does not lead to a running stack's engine."""


def remote_driver(url: str) -> Any:
    """A driver for the stack whose engine is at ``url``, or a StackUnreachable saying why."""
    import httpx

    from .driver import DriverError, StackDriver

    try:
        return StackDriver.remote(url)
    except (DriverError, httpx.HTTPError, OSError) as exc:
        raise StackUnreachable(
            f"no careflow stack answers at {url} ({exc}). Start one with `careflow up` and pass "
            "the engine's URL (the info file's engine.url, e.g. http://127.0.0.1:8400)."
        ) from None


def scenario_path(name: str) -> Path:
    """A scenario file, or a built-in scenario by file name (with or without ``.yaml``)."""
    from .format import builtin_dir

    path = Path(name)
    if path.is_file():
        return path
    for candidate in (builtin_dir() / name, builtin_dir() / f"{name}.yaml"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"{name}: no such scenario file or built-in scenario (`careflow scenarios` lists them)"
    )


def execute(
    scenarios: list[Any], *, url: str | None, seed: int, quiet: bool, follow: str | None = None
) -> list[Any]:
    from .driver import StackDriver
    from .report import print_result, summary_table
    from .runner import ScenarioRunner
    from .stack import InProcessStack

    results = []
    stacks: dict[int, InProcessStack] = {}  # in-process: one stack per seed, reset per scenario
    restore_clock = None
    if url:
        console.print(
            f"[yellow]note:[/yellow] each scenario resets the stack at {url} (engine runs and "
            "workflows, fake data, faults) and sets its clock; the clock is put back afterwards.",
            highlight=False,
        )
        restore_clock = _clock_restorer(remote_driver(url))
    try:
        for scenario in scenarios:
            if url:
                driver = remote_driver(url)
            else:
                wanted = scenario.seed or seed
                if wanted not in stacks:
                    stacks[wanted] = InProcessStack(seed=wanted).__enter__()
                driver = StackDriver.in_process(stacks[wanted])
            runner = ScenarioRunner(driver, leave_active=url is None)
            results.append(runner.run(scenario))
            print_result(console, results[-1], quiet=quiet, follow=follow)
    finally:
        for stack in stacks.values():
            stack.__exit__(None, None, None)
        if restore_clock is not None:
            restore_clock()
    console.print(summary_table(results))
    return results


def _clock_restorer(driver: Any) -> Callable[[], None]:
    """Put a shared stack's clock back as it was: frozen where it stood, or running on."""
    import time

    from careflow.mocks.kernel import format_instant, parse_instant

    before, started = driver.clock(), time.monotonic()

    def restore() -> None:
        moment = parse_instant(before["now"])
        if not before["frozen"]:
            moment += timedelta(seconds=time.monotonic() - started)
        driver.move_clock(frozen=before["frozen"], set=format_instant(moment))

    return restore


@app.command("scenarios")
def list_scenarios() -> None:
    """List the built-in scenarios (shipped in the package)."""
    from .format import builtin_scenarios, load_scenario

    table = Table(title="built-in scenarios (careflow run NAME runs one)")
    table.add_column("name", no_wrap=True)  # copied into `careflow run NAME`: one piece
    table.add_column("title", overflow="fold")
    table.add_column("description", overflow="fold")
    for path in builtin_scenarios():
        scenario = load_scenario(path)
        table.add_row(path.stem, scenario.name, scenario.description.strip().split("\n")[0])
    console.print(table)


caspio_app = typer.Typer(help="Caspio helpers for the sandbox.", no_args_is_help=True)
app.add_typer(caspio_app, name="caspio")

app.add_typer(contract_app, name="contract")


@caspio_app.command("orphans")
def caspio_orphans(
    url: Annotated[str, typer.Option(help="Engine URL of a running stack.")] = (
        "http://127.0.0.1:8400"
    ),
    clean: Annotated[bool, typer.Option(help="Delete the orphaned webhooks.")] = False,
) -> None:
    """List (and with --clean delete) outgoing webhooks left behind in Caspio when the web
    services profile was deleted before the Keragon workflows that created them."""
    from .driver import DriverError

    try:
        driver = remote_driver(url)
        found = driver.admin("caspio", "GET", "/orphans")
    except (StackUnreachable, DriverError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
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
        driver.admin("caspio", "DELETE", "/orphans")
        console.print(f"deleted {found['count']} orphaned webhook(s)")


@app.command()
def bench(
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Run only benchmarks whose name has this.")
    ] = None,
    quick: Annotated[bool, typer.Option(help="Fewer iterations (smoke run).")] = False,
    sockets: Annotated[
        bool,
        typer.Option(
            help="Serve the stack and a bare Starlette app on real ports and drive both with "
            "wrk in interleaved rounds (fake ÷ bare per route, engine end to end, memory)."
        ),
    ] = False,
    rounds: Annotated[int | None, typer.Option(help="--sockets: rounds per route.")] = None,
    seconds: Annotated[float | None, typer.Option(help="--sockets: seconds per wrk run.")] = None,
    connections: Annotated[int, typer.Option(help="--sockets: wrk connections.")] = 10,
    up_python: Annotated[
        str | None,
        typer.Option(
            help="--sockets: serve the stack with this Python's careflow (e.g. a checkout "
            "before a change), against the same bare baseline."
        ),
    ] = None,
) -> None:
    """Measure cold start and per-request costs against a bare Starlette baseline (in-process),
    or with --sockets over real sockets with wrk."""
    if sockets:
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

    raise typer.Exit(run_benchmarks(console, only=only or [], quick=quick))


def main() -> None:
    app(prog_name="careflow")


if __name__ == "__main__":
    sys.exit(main())
