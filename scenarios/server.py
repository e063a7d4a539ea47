"""Serve the stack's apps with real uvicorn servers: all four in one process and one loop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import uvicorn

from careflow.heap import settle_heap
from careflow.mocks.kernel.middleware import SandboxDroppedConnection

from .stack import Stack, port_offsets

if TYPE_CHECKING:
    from .tls import LocalCA  # trustme and cryptography load only with --tls

TLS_CLOSE_GRACE = 2.0  # seconds a stopping TLS server waits for connections before cutting them


class _InjectedFaultsAreNotErrors(logging.Filter):
    """uvicorn logs an app that cuts a connection as a crash with a traceback; an injected
    ``drop``/``timeout`` fault does that on purpose, so it becomes one plain line."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, SandboxDroppedConnection):
            record.msg, record.args, record.exc_info, record.levelno = str(exc), (), None, 20
            record.levelname = "INFO"
        return True


logging.getLogger("uvicorn.error").addFilter(_InjectedFaultsAreNotErrors())

# Every served app (the stack's, and the bare baseline of ``careflow bench --sockets``) runs
# with these uvicorn settings, so that ratios compare like with like. "auto" takes uvloop and
# httptools when installed (``uvicorn[standard]``), else asyncio and h11.
SERVER_OPTIONS: dict[str, Any] = {
    "log_level": "warning",
    "lifespan": "on",
    "access_log": False,
    "loop": "auto",
    "http": "auto",
}


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop uvicorn's ``loop`` setting names. The stack runs its servers on a loop of
    its own (several servers, one loop), so the setting takes effect only through this."""
    # log_config=None: a Config configures logging when built; this one must not
    config = uvicorn.Config(app=None, loop=SERVER_OPTIONS["loop"], log_config=None)
    return config.get_loop_factory()


def run_loop(coro: Any) -> Any:
    """``asyncio.run`` on the configured loop (uvloop when installed)."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(coro)


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the stack runner."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    def install_signal_handlers(self) -> None:  # older uvicorn
        return None


def bind_sockets(host: str, port: int) -> dict[str, socket.socket]:
    """One listening socket per service: ``port`` + offset, or four free ports when 0."""
    sockets: dict[str, socket.socket] = {}
    try:
        for name, offset in port_offsets().items():
            # proto must be IPPROTO_TCP (not 0): asyncio only sets TCP_NODELAY on accepted
            # sockets whose listener says so, and without it every keep-alive response waits
            # ~40 ms for a delayed ACK (Nagle).
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, 0 if port == 0 else port + offset))
            sock.listen(128)
            sock.set_inheritable(True)
            sockets[name] = sock
    except OSError:
        for sock in sockets.values():
            sock.close()
        raise
    return sockets


def ssl_context_soon() -> Future[ssl.SSLContext]:
    """httpx's default client SSL context (its trust store: ``SSL_CERT_FILE``, ``SSL_CERT_DIR``
    or certifi's), built in a thread: loading the store (about 20 ms) releases the GIL, so it
    overlaps whatever the caller does next (``careflow up``: building the stack)."""
    import certifi  # noqa: F401  (imported here: the thread imports nothing)

    future: Future[ssl.SSLContext] = Future()

    def build() -> None:
        try:
            future.set_result(httpx.create_ssl_context())
        except BaseException as exc:  # handed to whoever waits for the context
            future.set_exception(exc)

    threading.Thread(target=build, name="careflow-ssl-context", daemon=True).start()
    return future


def urls_of(host: str, sockets: dict[str, socket.socket], scheme: str = "http") -> dict[str, str]:
    return {name: f"{scheme}://{host}:{sock.getsockname()[1]}" for name, sock in sockets.items()}


class StackServer:
    """Runs a ``Stack`` on sockets; ``ready`` is set once every ``/__sandbox/health`` answers.

    With ``tls`` (``careflow up --tls``) every server speaks HTTPS with the local CA's
    certificate, the stack's own outbound client trusts that CA, and ``info()`` names its
    ``ca_file``."""

    def __init__(
        self,
        stack: Stack,
        sockets: dict[str, socket.socket],
        tls: LocalCA | None = None,
        client_ssl: Future[ssl.SSLContext] | None = None,
    ) -> None:
        """``client_ssl``: the clients' SSL context when it is already being built
        (``ssl_context_soon``); without TLS, else built when serving starts."""
        self.stack = stack
        self.sockets = sockets
        self.tls = tls
        self.client_ssl = client_ssl
        self.ready = threading.Event()
        self.servers: dict[str, _Server] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.client: httpx.AsyncClient | None = None
        for name in ("engine", *stack.fakes):
            config = uvicorn.Config(stack.apps[name], **SERVER_OPTIONS)
            if tls is not None:
                config.load()  # then the context is ours (no key file on disk)
                config.ssl = tls.server_context
            self.servers[name] = _Server(config)
        for name in stack.fakes:
            stack.kernel(name).over_socket = True
        stack.apps["engine"].state.stack_info = self.info()

    def info(self) -> dict[str, Any]:
        """The info file's JSON; with TLS also the top-level ``ca_file``."""
        info = self.stack.info()
        if self.tls is not None:
            info["ca_file"] = str(self.tls.ca_file)
        return info

    def stop(self) -> None:
        for server in self.servers.values():
            server.should_exit = True
        if self.tls is not None and self.loop is not None:
            self.loop.call_later(TLS_CLOSE_GRACE, self._abort_lingering)

    def _abort_lingering(self) -> None:
        """Closing a TLS connection waits for the peer's close_notify (30 s by default), which
        an idle keep-alive client (the stack's own, among others) never sends: once the
        servers have had their grace, cut what is left so that the stack stops promptly."""
        for server in self.servers.values():
            for connection in list(server.server_state.connections):
                transport = getattr(connection, "transport", None)
                if transport is not None:
                    transport.abort()

    async def serve(self, on_ready: Callable[[], None] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        # one SSL context (loading the trust store is the costly part of a client) for the
        # stack's client and the readiness check's
        if self.tls is not None:
            verify = self.tls.client_context
        elif self.client_ssl is not None:
            verify = self.client_ssl.result()
        else:
            verify = httpx.create_ssl_context()
        self.client = httpx.AsyncClient(timeout=30, verify=verify)
        self.stack.set_http_client(self.client)
        tasks = [
            asyncio.create_task(server.serve(sockets=[self.sockets[name]]))
            for name, server in self.servers.items()
        ]
        try:
            await self._wait_ready(tasks, verify)
            if on_ready:
                on_ready()
            self.ready.set()
            await asyncio.gather(*tasks)
        finally:
            self.stop()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.client.aclose()

    async def _wait_ready(self, tasks: list[asyncio.Task[Any]], verify: ssl.SSLContext) -> None:
        while not all(s.started for s in self.servers.values()):
            failed = [t for t in tasks if t.done()]
            if failed:
                failed[0].result()
                raise RuntimeError("a server stopped before it was ready")
            await asyncio.sleep(0.005)
        # a client of its own: no idle keep-alive connection outlives the check
        async with httpx.AsyncClient(timeout=30, verify=verify) as client:
            for url in self.stack.urls.values():
                response = await client.get(f"{url}/__sandbox/health")
                response.raise_for_status()

    def run_forever(self, on_ready: Callable[[], None] | None = None) -> None:
        """Run until SIGINT/SIGTERM (main thread)."""

        def ready() -> None:
            if on_ready:
                on_ready()
            # the stack is built and answers: its long-lived heap is never rescanned. Done
            # once the readiness signal is out: a request arriving meanwhile waits in the
            # listen backlog for this one collection
            settle_heap()

        async def main() -> None:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self.stop)
            await self.serve(ready)

        run_loop(main())

    # threaded mode (tests) -----------------------------------------------------------------
    def start_in_thread(self, timeout: float = 30) -> threading.Thread:
        errors: list[BaseException] = []

        def target() -> None:
            try:
                asyncio.run(self.serve())
            except BaseException as exc:  # surfaced to the caller below
                errors.append(exc)
                self.ready.set()

        thread = threading.Thread(target=target, name="careflow-stack", daemon=True)
        thread.start()
        if not self.ready.wait(timeout):
            raise RuntimeError(f"the stack did not become ready in {timeout} s")
        if errors:
            raise RuntimeError(f"the stack failed to start: {errors[0]!r}") from errors[0]
        self._thread = thread
        return thread

    def stop_thread(self, timeout: float = 10) -> None:
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.stop)
        thread = getattr(self, "_thread", None)
        if thread is not None:
            thread.join(timeout)


def write_info(path: Path, info: dict[str, Any]) -> None:
    """Write atomically: the file's appearance is the readiness signal."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(info, indent=2))
    tmp.replace(path)


def spawn_up(
    info_file: Path, *extra: str, timeout: float = 30, python: str | None = None
) -> subprocess.Popen[bytes]:
    """Start ``careflow up --port 0`` in a child process (``python``: another interpreter's
    careflow, e.g. a checkout before a change); return once its info file exists."""
    info_file.unlink(missing_ok=True)
    # another interpreter's checkout may predate the careflow import root: its console script
    # (installed next to it) is what starts its stack, whatever the layout
    launcher = (
        [str(Path(python).parent / "careflow")]
        if python
        else [sys.executable, "-m", "careflow.scenarios.cli"]
    )
    proc = subprocess.Popen(
        [
            *launcher,
            "up",
            "--port",
            "0",
            "--info-file",
            str(info_file),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "200"},
    )
    deadline = time.monotonic() + timeout
    while not info_file.exists():
        if proc.poll() is not None:
            raise RuntimeError(f"careflow up exited: {proc.stderr.read().decode()}")  # type: ignore[union-attr]
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"careflow up was not ready within {timeout} s")
        time.sleep(0.002)
    return proc


def stop_up(proc: subprocess.Popen[bytes], timeout: float = 15) -> tuple[bytes, bytes]:
    """SIGTERM, wait, and return (stdout, stderr)."""
    proc.send_signal(signal.SIGTERM)
    return proc.communicate(timeout=timeout)
