"""An Ours Privacy fake on a frozen clock, a sync client over it, and a loopback HTTP receiver
standing in for an HTTPDestination's endpoint (reached through the kernel's http client)."""

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
from mocks.ours import create_app
from scenarios.transports import BackgroundLoop, SyncASGITransport

START = "2026-01-01T12:00:00Z"
HOOK_URL = "http://127.0.0.1:9/hook"


class OursEnv:
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
        transport = SyncASGITransport(httpx.ASGITransport(app=self.app), self.loop)
        self.client = httpx.Client(transport=transport, base_url="http://127.0.0.1:8403")
        self.refresh_credentials()

    def refresh_credentials(self) -> None:
        creds = self.backend.credentials_of(self.backend.state())
        self.token, self.test_token = creds["token"], creds["test_token"]

    @property
    def now_ms(self) -> float:
        return self.clock.now().timestamp() * 1000

    # ingest
    def post(self, path: str, body: Any, **kwargs: Any) -> httpx.Response:
        return self.client.post(f"/api/v1{path}", json=body, **kwargs)

    def track(self, token: str | None = None, **fields: Any) -> httpx.Response:
        return self.post("/track", {"token": token or self.token, **fields})

    def identify(self, token: str | None = None, **fields: Any) -> httpx.Response:
        return self.post("/identify", {"token": token or self.token, **fields})

    def batch(self, events: list[dict[str, Any]], token: str | None = None) -> httpx.Response:
        return self.post("/batch", {"token": token or self.token, "events": events})

    # admin
    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.client.request(method, f"/__sandbox{path}", **kwargs)
        assert response.status_code < 400, response.text
        return response.json() if response.content else None

    def events(self, **filters: Any) -> list[dict[str, Any]]:
        return self.admin("GET", "/events", params=filters)["items"]

    def dispatches(self, **filters: Any) -> list[dict[str, Any]]:
        return self.admin("GET", "/dispatches", params=filters)["items"]

    def settle(self) -> None:
        self.loop.run(self.kernel.settle())

    def add_http_destination(self, events: list[str] | None = None) -> None:
        self.admin(
            "POST",
            "/destinations",
            json={"id": "crm-hook", "type": "HTTPDestination", "settings": {"url": HOOK_URL}},
        )
        allowed = self.admin("GET", "/allowed-events")["items"]
        for item in allowed:
            if events is None or item["name"] in events:
                item["destinationIds"].append("crm-hook")
        self.admin("PUT", "/allowed-events", json={"items": allowed})

    def reset(self) -> None:
        self.admin("POST", "/reset")
        self.received.clear()
        self.refresh_credentials()

    def close(self) -> None:
        self.client.close()
        self.loop.run(self.http.aclose())
        self.loop.close()


@pytest.fixture
def env() -> Iterator[OursEnv]:
    ours = OursEnv()
    yield ours
    ours.close()
