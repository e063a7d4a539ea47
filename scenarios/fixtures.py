"""The stacks behind the careflow pytest fixtures, and the remote-call guard.

Imported by ``careflow.scenarios.pytest_plugin`` only when a test uses a careflow fixture: this
module pulls in httpx, FastAPI, the fakes and the engine; the plugin itself stays cheap. The
handles a test gets (``ServiceHandle``, ``StackHandle``) live in ``careflow.scenarios.handles``
and are importable from here too.

In-process, every service's URL is ``http://{service}.careflow.localhost`` (the interception's
URLs, ``intercept.own_urls()``): a name no real server
answers, so a ``careflow up`` running on the default ports never receives a test's calls. The
fixture's clients, the engine's webhooks and hooks, and ``careflow_intercept`` route those URLs
in-process; any other client sent there is stopped with a message saying what to use instead.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from typing import Any

import httpx

from careflow.mocks.kernel import is_loopback_host

from .handles import LoopBridge, SandboxError, ServiceHandle, StackHandle
from .intercept import URL_HOST, InterceptStack
from .stack import Stack


class Stacks:
    """Session cache: one stack per (mode, seed), reset between tests."""

    def __init__(self) -> None:
        self.stacks: dict[tuple[str, int], tuple[StackHandle, Any]] = {}

    def get(self, mode: str, seed: int) -> StackHandle:
        key = (mode, seed)
        if key not in self.stacks:
            self.stacks[key] = self._start(mode, seed)
        return self.stacks[key][0]

    def _start(self, mode: str, seed: int) -> tuple[StackHandle, Any]:
        if mode == "inprocess":
            return self._in_process(seed)
        return self._served(seed)

    @staticmethod
    def _in_process(seed: int) -> tuple[StackHandle, Any]:
        # URLs http://{service}.careflow.localhost; careflow_intercept activates this stack
        stack = InterceptStack(seed=seed)

        def async_client(name: str | None = None, **kwargs: Any) -> httpx.AsyncClient:
            kwargs.setdefault("timeout", 30)
            return httpx.AsyncClient(
                transport=LoopBridge(stack.router, stack.loop),
                base_url=stack.urls[name] if name else "",
                **kwargs,
            )

        handle = StackHandle(
            "inprocess",
            stack,
            client=stack.client,
            async_client=async_client,
            settle=lambda: stack.run(stack.settle()),
        )
        return handle, stack

    @staticmethod
    def _served(seed: int) -> tuple[StackHandle, Any]:
        from .server import StackServer, bind_sockets, urls_of

        sockets = bind_sockets("127.0.0.1", 0)
        served = Stack(urls=urls_of("127.0.0.1", sockets), seed=seed)
        server = StackServer(served, sockets)
        server.start_in_thread()

        def client(name: str | None = None, **kwargs: Any) -> httpx.Client:
            return httpx.Client(base_url=served.urls[name] if name else "", **kwargs)

        def async_client(name: str | None = None, **kwargs: Any) -> httpx.AsyncClient:
            return httpx.AsyncClient(base_url=served.urls[name] if name else "", **kwargs)

        def settle() -> None:
            assert server.loop is not None
            asyncio.run_coroutine_threadsafe(served.settle(), server.loop).result(120)

        handle = StackHandle(
            "server", served, client=client, async_client=async_client, settle=settle
        )
        return handle, server

    def close(self) -> None:
        for _handle, runner in self.stacks.values():
            if isinstance(runner, InterceptStack):
                runner.close()
            else:
                runner.stop_thread()
        self.stacks.clear()


class RemoteCallBlocked(AssertionError):
    pass


IN_PROCESS_SUFFIX = f".{URL_HOST}"
IN_PROCESS_NOTE = "an in-process service's URL: use its .client(), or careflow_intercept"


def _intercepted(scheme: str, host: str, port: int | None) -> bool:
    """Whether an open ``careflow.intercept`` block answers this URL in-process."""
    module = sys.modules.get("careflow.scenarios.intercept")
    stack = module.active_stack() if module is not None else None
    return stack is not None and stack.decide(scheme, host, port)[0] == "fake"


def in_process_hint(host: str) -> str:
    service = host[: -len(IN_PROCESS_SUFFIX)]
    return (
        f"{host} is the in-process {service} service's URL, where nothing listens: reach it "
        f"with the fixture's {service}.client() or .async_client(), add the careflow_intercept "
        "fixture (it serves these URLs, and the vendors' real hosts, to any client), or mark "
        "the test @pytest.mark.careflow(mode='server') for real sockets"
    )


def block_remote(monkeypatch: Any) -> list[str]:
    """Fail any request to a host that is not loopback: httpx requests by URL, every other
    client (urllib, requests, raw sockets) at ``connect``. Requests an open
    ``careflow.intercept`` block answers in-process pass, whichever was installed first; the
    in-process services' URLs (``*.careflow.localhost``) are refused with what to use instead.
    Returns the list of blocked calls, which the plugin checks when the test function ends."""
    blocked: list[str] = []
    real_sync = httpx.HTTPTransport.handle_request
    real_async = httpx.AsyncHTTPTransport.handle_async_request
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def refuse(what: str, host: str) -> RemoteCallBlocked:
        if host.endswith(IN_PROCESS_SUFFIX):
            blocked.append(f"{what} ({IN_PROCESS_NOTE})")
            return RemoteCallBlocked(f"careflow blocked {what}: {in_process_hint(host)}")
        blocked.append(what)
        return RemoteCallBlocked(
            f"careflow blocked a request to {host}: tests may only reach the "
            "sandbox on loopback. Point your client at the fixture's .url instead, or add the "
            "careflow_intercept fixture to answer the vendors' real hosts in-process."
        )

    def check(request: Any) -> None:
        url = request.url
        if _intercepted(url.scheme, url.host, url.port):
            return
        if url.host.endswith(IN_PROCESS_SUFFIX) or not is_loopback_host(url.host):
            raise refuse(f"{request.method} {url}", url.host)

    def check_address(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
            host = str(address[0])
            if not is_loopback_host(host):
                raise refuse(f"connect {host}:{address[1]}", host)

    def sync_handle(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        check(request)
        return real_sync(self, request)

    async def async_handle(
        self: httpx.AsyncHTTPTransport, request: httpx.Request
    ) -> httpx.Response:
        check(request)
        return await real_async(self, request)

    def connect(self: socket.socket, address: Any) -> None:
        check_address(self, address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check_address(self, address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host or "")
        if name.lower().rstrip(".").endswith(IN_PROCESS_SUFFIX):
            raise refuse(f"lookup of {name}", name.lower().rstrip("."))
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", sync_handle)
    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", async_handle)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return blocked


__all__ = [
    "RemoteCallBlocked",
    "SandboxError",
    "ServiceHandle",
    "StackHandle",
    "Stacks",
    "block_remote",
]
