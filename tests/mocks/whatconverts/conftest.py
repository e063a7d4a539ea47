"""A WhatConverts fake on a frozen clock, sync clients for the profile and agency keys, and a
loopback receiver standing in for a webhook target (reached through the kernel's http client)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mocks.kernel import VirtualClock
from mocks.whatconverts import create_app
from scenarios.transports import BackgroundLoop, SyncASGITransport

START = "2026-03-02T12:00:00Z"
HOOK_URL = "http://127.0.0.1:9/hook"
BASE = "http://127.0.0.1:8401"


class WCEnv:
    def __init__(self, seed: int = 3) -> None:
        self.clock = VirtualClock(START, frozen=True)
        self.received: list[dict[str, Any]] = []

        async def hook(request: Request) -> JSONResponse:
            self.received.append(await request.json())
            return JSONResponse({"ok": True})

        receiver = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver))
        self.app = create_app(clock=self.clock, seed=seed, http_client=self.http)
        self.kernel = self.app.state.kernel
        self.backend = self.app.state.backend
        self.loop = BackgroundLoop()
        self.transport = SyncASGITransport(httpx.ASGITransport(app=self.app), self.loop)
        self.creds = self.backend.credentials_of(self.backend.state())
        self.profile = self.client(self.creds["api_token"], self.creds["api_secret"])
        self.master = self.client(self.creds["master_token"], self.creds["master_secret"])
        self.anon = httpx.Client(transport=self.transport, base_url=f"{BASE}/api/v1")

    def client(self, token: str, secret: str) -> httpx.Client:
        return httpx.Client(
            transport=self.transport, base_url=f"{BASE}/api/v1", auth=(token, secret)
        )

    @property
    def state(self) -> Any:
        return self.backend.state()

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.anon.request(method, f"{BASE}/__sandbox{path}", **kwargs)
        assert response.status_code < 400, response.text
        return response.json() if response.content else None

    def settle(self) -> None:
        self.loop.run(self.kernel.settle())

    def close(self) -> None:
        for c in (self.profile, self.master, self.anon):
            c.close()
        self.loop.run(self.http.aclose())
        self.loop.close()


@pytest.fixture
def env() -> Iterator[WCEnv]:
    e = WCEnv()
    yield e
    e.close()
