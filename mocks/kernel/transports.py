"""httpx transports that reach the stack's apps without sockets.

- ``RoutingTransport``: async; sends each request to the in-process app that owns the URL's
  ``host:port`` (the same URLs ``careflow up`` would serve), so webhooks from a fake reach the
  engine and the engine's calls reach the fakes, all in one event loop.
- ``SyncASGITransport``: sync; runs requests on a background event loop (the stack's loop), so
  plain ``httpx.Client`` code and sync tests drive the in-process apps.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from .guard import is_loopback_host


class NoServiceError(httpx.ConnectError):
    """A request for a URL that no in-process app serves."""


class RoutingTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        apps: Mapping[str, Any],
        *,
        fallback: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """``apps`` maps ``host:port`` to an ASGI app; ``fallback`` serves anything else."""
        self.apps = dict(apps)
        self.fallback = fallback
        self._transports = {
            netloc: httpx.ASGITransport(app=app) for netloc, app in self.apps.items()
        }

    def add(self, netloc: str, app: Any) -> None:
        self.apps[netloc] = app
        self._transports[netloc] = httpx.ASGITransport(app=app)

    def _target(self, url: httpx.URL) -> httpx.AsyncBaseTransport | None:
        port = url.port or (443 if url.scheme == "https" else 80)
        netloc = f"{url.host}:{port}"
        if netloc in self._transports:
            return self._transports[netloc]
        if is_loopback_host(url.host):
            for key, transport in self._transports.items():
                host, _, key_port = key.rpartition(":")
                if is_loopback_host(host) and int(key_port) == port:
                    return transport
        return None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = self._target(request.url)
        if transport is None:
            if self.fallback is not None:
                return await self.fallback.handle_async_request(request)
            known = ", ".join(sorted(self.apps)) or "none"
            raise NoServiceError(
                f"no in-process service at {request.url.host}:{request.url.port} (known: {known})",
                request=request,
            )
        return await transport.handle_async_request(request)


class BackgroundLoop:
    """One event loop in a daemon thread: the in-process stack's loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="careflow-loop", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro: Any, timeout: float | None = 120) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        if self.loop.is_closed():
            return

        async def _cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            self.run(_cancel_all(), timeout=10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)
            self.loop.close()


class SyncASGITransport(httpx.BaseTransport):
    """Sync transport over an async one, run on a ``BackgroundLoop``."""

    def __init__(self, transport: httpx.AsyncBaseTransport, loop: BackgroundLoop) -> None:
        self.transport = transport
        self.loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        async_request = httpx.Request(
            request.method,
            request.url,
            headers=request.headers,
            content=body,
            extensions=request.extensions,
        )

        async def call() -> tuple[int, Any, bytes, dict[str, Any]]:
            response = await self.transport.handle_async_request(async_request)
            content = await response.aread()
            return response.status_code, response.headers, content, response.extensions

        status, headers, content, extensions = self.loop.run(call())
        return httpx.Response(status, headers=headers, content=content, extensions=extensions)


def netloc_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
