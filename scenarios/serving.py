"""What ``careflow up``, ``demo`` and ``run`` share to serve the stack on real ports: one flag
set (``--host``, ``--port``, ``--info-file``, ``--data-dir``, ``--seed``, ``--tls``), the same
checks before anything starts (a busy port is one line naming it and ``--port 0``), and the
info file's life (written once every server answers, removed when the stack stops).

Imports of the stack are inside functions: ``careflow --help`` and the small helper commands
must not pay for FastAPI and the apps.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from .server import StackServer

DEFAULT_PORT = 8400  # careflow.scenarios.stack.DEFAULT_PORT, without importing the stack
SPAN = 4  # engine, then one port per fake (each vendor's port_offset)

HostOpt = Annotated[str, typer.Option(metavar="HOST", help="Interface to bind.")]
PortOpt = Annotated[
    int,
    typer.Option(
        metavar="PORT",
        help="Engine port; the fakes take the next ones (WhatConverts +1, Caspio +2, Ours +3). "
        "0 picks free ports.",
    ),
]
InfoFileOpt = Annotated[
    Path | None,
    typer.Option(
        metavar="FILE",
        help="Write the stack's URLs and credentials (JSON) here once every server answers; "
        "removed when the stack stops.",
    ),
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option(metavar="DIR", help="Keep state here so that it survives a restart."),
]
SeedOpt = Annotated[
    int, typer.Option(metavar="N", help="Seed of the synthetic data (same seed, same data).")
]
TlsOpt = Annotated[
    bool,
    typer.Option(
        "--tls",
        help="Serve HTTPS with a throwaway local CA (prints how to trust it).",
        show_default=False,
    ),
]
AllowRemoteOpt = Annotated[
    bool,
    typer.Option(
        "--allow-remote",
        help="Allow webhooks, HTTP steps and destinations to non-loopback hosts.",
        show_default=False,
    ),
]
JsonOpt = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Print a JSON document on stdout (what is said for people goes to stderr).",
        show_default=False,
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


@dataclass
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    info_file: Path | None = None
    data_dir: Path | None = None
    seed: int = 0
    tls: bool = False
    allow_remote: bool = False


class ServeError(Exception):
    """A reason not to start, in one line that says what to do."""


def check(options: ServeOptions) -> None:
    """What can be refused before binding anything."""
    if options.port != 0 and not 1 <= options.port <= 65535 - (SPAN - 1):
        raise ServeError(
            f"--port {options.port} is not a port careflow can use: give 1..{65535 - SPAN + 1} "
            f"(the stack takes {SPAN} ports from it), or --port 0 for free ports"
        )
    if options.info_file is not None:
        folder = options.info_file.parent
        if not folder.is_dir():
            raise ServeError(
                f"--info-file {options.info_file}: the folder {folder} does not exist "
                "(create it first, or name a file in an existing folder)"
            )


def bind(options: ServeOptions) -> dict[str, socket.socket]:
    """The stack's listening sockets, or a ServeError naming the busy port."""
    from .server import bind_sockets

    check(options)
    try:
        return bind_sockets(options.host, options.port)
    except OSError as exc:
        raise ServeError(_bind_failure(options, exc)) from None


def _bind_failure(options: ServeOptions, exc: OSError) -> str:
    from .stack import port_offsets

    if exc.errno == errno.EADDRINUSE and options.port:
        for name, offset in port_offsets().items():
            port = options.port + offset
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind((options.host, port))
            except OSError:
                return (
                    f"port {port} ({name}) on {options.host} is in use: stop what holds it "
                    f"(another careflow up?), or pass --port 0 for free ports"
                )
            finally:
                probe.close()
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"--host {options.host}: not an address of this machine ({exc.strerror})"
    last = options.port + SPAN - 1
    return (
        f"cannot listen on {options.host}:{options.port}..{last}: {exc.strerror or exc}; "
        "try --port 0 for free ports"
    )


def build_server(options: ServeOptions) -> tuple[StackServer, Any]:
    """Bind, then build the stack and its server (and the local CA with ``--tls``)."""
    from careflow.keys import KeyUnavailable

    from .server import StackServer, ssl_context_soon, urls_of
    from .stack import Stack

    sockets = bind(options)
    # the stack's outbound client's trust store loads while the stack is built (--tls: the CA's)
    client_ssl = None if options.tls else ssl_context_soon()
    # bound: only now is a leftover info file known to be stale (a stack still running would
    # hold the ports), and removed so that it never reads as "ready"
    if options.info_file is not None:
        options.info_file.unlink(missing_ok=True)
    ca = None
    if options.tls:
        from .tls import local_ca  # trustme and cryptography: only for --tls

        ca = local_ca(options.host)
    urls = urls_of(options.host, sockets, "https" if ca else "http")
    try:
        stack = Stack(
            urls=urls,
            seed=options.seed,
            data_dir=options.data_dir,
            allow_remote=options.allow_remote,
        )
    except KeyUnavailable as exc:  # the data dir's key is missing, or the passphrase wrong
        for sock in sockets.values():
            sock.close()
        raise ServeError(f"--data-dir {options.data_dir}: {exc}") from None
    return StackServer(stack, sockets, tls=ca, client_ssl=client_ssl), ca


def print_ready(console: Console, server: StackServer, title: str = "careflow sandbox") -> None:
    """URLs, credentials as KEY=value lines, how to trust --tls's CA, the dashboard."""
    from .console import print_stack

    info = server.info()
    print_stack(console, info, title)
    ca = server.tls
    if ca is not None:
        console.print(f"TLS: a throwaway local CA, {ca.ca_file}; to trust it:", soft_wrap=True)
        for name, value in ca.env().items():
            console.print(f"  export {name}={value}", soft_wrap=True, markup=False)
    console.print(f"dashboard: {info['engine']['url']}/ui/", soft_wrap=True)


@contextmanager
def served(options: ServeOptions, console: Console, title: str) -> Iterator[StackServer]:
    """The stack served in a background thread for the ``with`` block (``demo``, ``run``):
    ready (info file written) on entry, stopped (info file removed) on exit."""
    from .server import write_info

    server, ca = build_server(options)
    try:
        server.start_in_thread()
        print_ready(console, server, title)
        if options.info_file is not None:
            write_info(options.info_file, server.info())
        yield server
    finally:
        server.stop_thread()
        if options.info_file is not None:
            options.info_file.unlink(missing_ok=True)
        if ca is not None:
            ca.close()


def read_info(info_file: Path | None, url: str | None) -> dict[str, Any]:
    """A running stack's info: from ``careflow up``'s info file, or ``GET {url}/__sandbox/stack``
    on its engine. Raises ServeError saying what to do."""
    import json

    import httpx

    if info_file is not None and url is not None:
        raise ServeError("give --info-file or --url, not both")
    if info_file is not None:
        try:
            return json.loads(info_file.read_text())  # type: ignore[no-any-return]
        except FileNotFoundError:
            raise ServeError(
                f"{info_file}: no such file — is `careflow up --info-file {info_file}` running "
                "(the file appears once the stack answers)?"
            ) from None
        except ValueError as exc:
            raise ServeError(f"{info_file}: not a careflow info file ({exc})") from None
    target = (url or f"http://127.0.0.1:{DEFAULT_PORT}").rstrip("/")
    try:
        response = httpx.get(f"{target}/__sandbox/stack", timeout=10)
    except httpx.HTTPError as exc:
        raise ServeError(
            f"no careflow stack answers at {target} ({exc}): start one with `careflow up`, or "
            "pass --url with its engine URL or --info-file with its info file"
        ) from None
    if response.status_code != 200:
        raise ServeError(
            f"{target} answered {response.status_code} to /__sandbox/stack: is it the engine URL "
            "of `careflow up` (the info file's engine.url)?"
        )
    return response.json()  # type: ignore[no-any-return]


def wait_for_info(info_file: Path | None, url: str | None, wait: float) -> dict[str, Any]:
    """``read_info``, trying again for up to ``wait`` seconds while the stack is not up yet
    (its info file not written, its engine not answering); then every server must answer."""
    import time

    import httpx

    deadline = time.monotonic() + wait
    while True:
        try:
            found = read_info(info_file, url)
            for entry in found.values():
                if isinstance(entry, dict) and "url" in entry:
                    httpx.get(f"{entry['url']}/__sandbox/health", timeout=5).raise_for_status()
            return found
        except (ServeError, httpx.HTTPError) as exc:
            if time.monotonic() >= deadline:
                if wait:
                    raise ServeError(f"not up after {wait:g} s: {exc}") from None
                raise ServeError(str(exc)) from None
        time.sleep(0.1)
