"""One fake app on a frozen clock, driven by a sync client, with a loopback receiver standing in
for every webhook or destination target (reached through the kernel's http client)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from careflow.mocks.kernel import VirtualClock
from careflow.mocks.kernel.transports import BackgroundLoop, SyncASGITransport

HOOK_URL = "http://127.0.0.1:9/hook"


class FakeEnv:
    def __init__(
        self,
        create_app: Callable[..., Any],
        base_url: str,
        start: str,
        seed: int = 3,
        **options: Any,
    ) -> None:
        self.clock = VirtualClock(start, frozen=True)
        self.received: list[dict[str, Any]] = []
        self.hook_status = 200

        async def hook(request: Request) -> JSONResponse:
            self.received.append(await request.json())
            return JSONResponse({"ok": True}, self.hook_status)

        receiver = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver))
        self.app = create_app(clock=self.clock, seed=seed, http_client=self.http, **options)
        self.kernel = self.app.state.kernel
        self.backend = self.app.state.backend
        self.loop = BackgroundLoop()
        self.transport = SyncASGITransport(httpx.ASGITransport(app=self.app), self.loop)
        self.base_url = base_url
        self.client = httpx.Client(transport=self.transport, base_url=base_url)
        self._clients = [self.client]

    def new_client(self, **kwargs: Any) -> httpx.Client:
        client = httpx.Client(transport=self.transport, **kwargs)
        self._clients.append(client)
        return client

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.client.request(method, f"{self.base_url}/__sandbox{path}", **kwargs)
        assert response.status_code < 400, response.text
        return response.json() if response.content else None

    def settle(self) -> None:
        self.loop.run(self.kernel.settle())

    def close(self) -> None:
        for client in self._clients:
            client.close()
        self.loop.run(self.http.aclose())
        self.loop.close()
