"""The composition root: one clock, four apps, their URLs and credentials.

``Stack`` builds the apps; ``InProcessStack`` runs them without sockets (one background event
loop, requests routed by URL); ``scenarios.server`` serves the same apps on real ports.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from careflow import engine
from careflow.clock import VirtualClock
from careflow.keys import master_key
from careflow.mocks import VENDORS
from careflow.mocks.kernel import Kernel
from careflow.mocks.kernel.transports import (
    BackgroundLoop,
    RoutingTransport,
    SyncASGITransport,
    netloc_of,
)

from .dashboard import mount_dashboard

DEFAULT_PORT = 8400


def fakes() -> tuple[str, ...]:
    """The registered vendors' names (``careflow.mocks.VENDORS``), in registry order."""
    return tuple(VENDORS)


def services() -> tuple[str, ...]:
    """The engine, then every fake."""
    return ("engine", *VENDORS)


def port_offsets() -> dict[str, int]:
    return {"engine": 0, **{name: VENDORS[name].port_offset for name in VENDORS}}


def default_urls(host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> dict[str, str]:
    return {name: f"http://{host}:{port + offset}" for name, offset in port_offsets().items()}


CLOCK_FILE = "clock.json"


def keep_clock(clock: VirtualClock, path: Path) -> None:
    """With a data dir the shared clock never goes back across a restart: its offset (or frozen
    instant) is restored from ``path`` and written again, atomically, whenever it is moved (before
    the move is answered)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        clock.restore(json.loads(path.read_text()))

    def write(_now: object = None) -> None:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(clock.export()))
        tmp.replace(path)

    write()
    clock.subscribe(write)


class Stack:
    """Every app of the sandbox on one shared clock."""

    def __init__(
        self,
        *,
        urls: dict[str, str] | None = None,
        seed: int = 0,
        clock: VirtualClock | None = None,
        data_dir: str | Path | None = None,
        allow_remote: bool = False,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.urls = urls or default_urls()
        self.seed = seed
        self.clock = clock or VirtualClock()
        self.allow_remote = allow_remote
        self.data_dir = Path(data_dir) if data_dir else None
        if self.data_dir is not None:
            master_key(self.data_dir)  # one key for the whole data dir (careflow/keys.py)
            keep_clock(self.clock, self.data_dir / CLOCK_FILE)
        self.fakes = fakes()
        self.apps: dict[str, FastAPI] = {}
        for name in self.fakes:
            self.apps[name] = VENDORS[name].create_app(
                clock=self.clock,
                seed=seed,
                data_dir=self.data_dir / name if self.data_dir else None,
                allow_remote=allow_remote,
                http_client=http_client,
            )
        self.apps["engine"] = engine.create_app(
            clock=self.clock,
            http_client=http_client,
            data_dir=self.data_dir / "engine" if self.data_dir else None,
            engine_url=self.urls["engine"],
            allow_remote=allow_remote,
        )
        self.engine: engine.Engine = self.apps["engine"].state.engine
        self.apps["engine"].state.stack_info = self.info()
        mount_dashboard(self.apps["engine"], self.info, lambda: self.engine.http)

    def kernel(self, name: str) -> Kernel:
        return self.apps[name].state.kernel

    def set_http_client(self, client: httpx.AsyncClient | None) -> None:
        for name in self.fakes:
            self.kernel(name).set_http_client(client)
        if client is not None:
            self.engine.http = client

    def info(self) -> dict[str, Any]:
        """The info file's JSON (DESIGN.md): URLs and demo credentials of every service."""
        out: dict[str, Any] = {"engine": {"url": self.urls["engine"]}}
        for name in self.fakes:
            kernel = self.kernel(name)
            assert kernel.backend is not None
            creds = kernel.backend.credentials_of(kernel.backend.state())
            out[name] = {"url": self.urls[name], **creds}
        return out

    async def settle(self, rounds: int = 5) -> None:
        """Until quiet: fakes' background work (webhooks, pipelines), then the runs it starts."""
        for _ in range(rounds):
            for name in self.fakes:
                await self.kernel(name).settle()
            if not await self.engine.run_until_idle():
                for name in self.fakes:
                    await self.kernel(name).settle()
                return

    def reset(self) -> None:
        for name in self.fakes:
            self.kernel(name).reset()


class InProcessStack(Stack):
    """The stack with no sockets: requests to its URLs are routed to the apps in memory."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.router = RoutingTransport(
            {netloc_of(url): self.apps[n] for n, url in self.urls.items()}
        )
        self.async_client = httpx.AsyncClient(transport=self.router, timeout=30)
        self.set_http_client(self.async_client)
        self.loop = BackgroundLoop()
        self._sync = SyncASGITransport(self.router, self.loop)

    def client(self, name: str | None = None, **kwargs: Any) -> httpx.Client:
        """A sync client (base URL of ``name`` when given) served in-process."""
        base = self.urls[name] if name else ""
        return httpx.Client(transport=self._sync, base_url=base, **kwargs)

    def run(self, coro: Any) -> Any:
        """Run a coroutine on the stack's loop (where background work runs)."""
        return self.loop.run(coro)

    def close(self) -> None:
        self.loop.run(self.async_client.aclose())
        self.loop.close()

    def __enter__(self) -> InProcessStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
