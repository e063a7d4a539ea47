"""The ``careflow`` command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

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


def stack_table(info: dict[str, Any], title: str = "careflow sandbox") -> Table:
    table = Table(title=title)
    table.add_column("service")
    table.add_column("URL")
    table.add_column("demo credentials")
    for name, entry in info.items():
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
) -> None:
    """Run every fake and the engine, one port each, until Ctrl-C (SIGINT) or SIGTERM."""
    from .server import StackServer, bind_sockets, urls_of, write_info
    from .stack import Stack

    try:
        sockets = bind_sockets(host, port)
    except OSError as exc:
        console.print(f"[red]cannot bind {host}:{port}..{port + 3}: {exc}[/red] (try --port 0)")
        raise typer.Exit(1) from exc
    stack = Stack(
        urls=urls_of(host, sockets), seed=seed, data_dir=data_dir, allow_remote=allow_remote
    )
    server = StackServer(stack, sockets)

    def ready() -> None:
        info = stack.info()
        console.print(stack_table(info))
        if info_file is not None:
            write_info(info_file, info)
        console.print("[green]ready[/green] — Ctrl-C to stop", highlight=False)

    server.run_forever(on_ready=ready)
    console.print("stopped")


@app.command()
def demo(seed: SeedOpt = 0) -> None:
    """Start the whole stack in-process and show that every service answers."""
    from .stack import InProcessStack

    with InProcessStack(seed=seed) as stack:
        info = stack.info()
        console.print(stack_table(info, "careflow sandbox (in-process)"))
        failed = 0
        for name, url in stack.urls.items():
            with stack.client() as client:
                status = client.get(f"{url}/__sandbox/health").status_code
            ok = status == 200
            failed += not ok
            console.print(
                f"{'[green]ok[/green]' if ok else '[red]FAIL[/red]'} {name} health {status}"
            )
    raise typer.Exit(1 if failed else 0)


@app.command()
def bench(
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Run only benchmarks whose name has this.")
    ] = None,
    quick: Annotated[bool, typer.Option(help="Fewer iterations (smoke run).")] = False,
) -> None:
    """Measure cold start and per-request costs against a bare Starlette baseline."""
    from .bench import run_benchmarks

    raise typer.Exit(run_benchmarks(console, only=only or [], quick=quick))


def main() -> None:
    app(prog_name="careflow")


if __name__ == "__main__":
    sys.exit(main())
