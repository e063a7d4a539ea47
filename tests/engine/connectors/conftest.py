"""Connector tests: a connector against a fake, in-process, with the shared frozen clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import pytest

from careflow.engine.connectors import Context
from careflow.mocks.kernel import VirtualClock
from careflow.mocks.kernel.transports import RoutingTransport

URLS = {
    "whatconverts": "http://127.0.0.1:8401",
    "caspio": "http://127.0.0.1:8402",
    "ours": "http://127.0.0.1:8403",
}


class Harness:
    """Fakes on their usual URLs (no sockets) and a way to run a connector call against them."""

    def __init__(self, clock: VirtualClock, apps: dict[str, Any]) -> None:
        self.clock = clock
        self.apps = apps
        self.transport = RoutingTransport(
            {URLS[name][len("http://") :]: app for name, app in apps.items()}
        )
        self.loop = asyncio.new_event_loop()
        self.http = httpx.AsyncClient(transport=self.transport)

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return self.loop.run_until_complete(coro)

    def kernel(self, name: str) -> Any:
        return self.apps[name].state.kernel

    def settle(self, name: str) -> None:
        self.run(self.kernel(name).settle())

    def credentials(self, name: str, **extra: Any) -> dict[str, Any]:
        backend = self.apps[name].state.backend
        return {"url": URLS[name], **backend.credentials_of(backend.state()), **extra}

    def context(self, name: str, **kwargs: Any) -> Context:
        kwargs.setdefault("credentials", self.credentials(name))
        kwargs.setdefault("workflow_id", "wf-1")
        return Context(http=self.http, clock=self.clock, **kwargs)

    def close(self) -> None:
        self.run(self.http.aclose())
        self.loop.close()


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock("2026-03-02T09:00:00Z", frozen=True)


@pytest.fixture
def harness(clock: VirtualClock) -> Callable[..., Harness]:
    made: list[Harness] = []

    def make(*names: str) -> Harness:
        from careflow.mocks import caspio, ours, whatconverts

        factories = {
            "whatconverts": whatconverts.create_app,
            "caspio": caspio.create_app,
            "ours": ours.create_app,
        }
        h = Harness(clock, {n: factories[n](clock=clock) for n in names})
        made.append(h)
        return h

    yield make
    for h in made:
        h.close()
