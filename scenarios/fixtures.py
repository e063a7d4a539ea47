"""What the careflow pytest fixtures hand to a test, and the stacks behind them.

Imported by ``careflow.scenarios.pytest_plugin`` only when a test uses a careflow fixture: this
module pulls in httpx, FastAPI, the fakes and the engine; the plugin itself stays cheap.
"""

from __future__ import annotations

import difflib
import socket
from typing import Any

import httpx

from careflow.mocks import VENDORS
from careflow.mocks.kernel import Kernel, is_loopback_host

from .stack import InProcessStack, Stack


class ServiceHandle:
    """One service of the stack as a test sees it."""

    def __init__(self, stack: StackHandle, name: str) -> None:
        self.stack = stack
        self.name = name
        self.url = stack.urls[name]
        self.credentials: dict[str, Any] = {
            k: v for k, v in stack.info.get(name, {}).items() if k != "url"
        }

    @property
    def kernel(self) -> Kernel:
        return self.stack.stack.kernel(self.name)

    def client(self, **kwargs: Any) -> httpx.Client:
        """A sync client with this service's URL as base (in-process or over a socket)."""
        return self.stack.client(self.name, **kwargs)

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        with self.client() as client:
            response = client.request(method, f"/__sandbox{path}", **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def reset(self) -> None:
        self.admin("POST", "/reset")

    def journal(self, **filters: Any) -> list[dict[str, Any]]:
        params = {k: v for k, v in filters.items() if v is not None}
        return self.admin("GET", "/journal", params=params)["items"]  # type: ignore[no-any-return]

    def fault(self, path: str, **spec: Any) -> dict[str, Any]:
        return self.admin("POST", "/faults", json={"path": path, **spec})  # type: ignore[no-any-return]

    def clear_faults(self) -> None:
        self.admin("DELETE", "/faults")

    def advance(self, seconds: float) -> dict[str, Any]:
        return self.admin("POST", "/clock", json={"advance_seconds": seconds})  # type: ignore[no-any-return]


class StackHandle:
    """The whole stack for one test: URLs, credentials, clients, the shared clock."""

    def __init__(self, mode: str, stack: Stack, client_factory: Any) -> None:
        self.mode = mode
        self.stack = stack
        self.urls = dict(stack.urls)
        self.info = stack.info()
        self.clock = stack.clock
        self._client_factory = client_factory
        self.services = {name: ServiceHandle(self, name) for name in ("engine", *stack.fakes)}

    def client(self, name: str | None = None, **kwargs: Any) -> httpx.Client:
        return self._client_factory(name, **kwargs)  # type: ignore[no-any-return]

    def __getitem__(self, name: str) -> ServiceHandle:
        return self.services[name]

    def reset(self) -> None:
        """Seeded state on every service, the clock back on real time."""
        self.clock.reset()
        for service in self.services.values():
            service.reset()

    def unmatched(self) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for name in self.stack.fakes:
            for entry in self.stack.kernel(name).journal.items():
                if not entry.get("matched", True) and entry.get("fault") is None:
                    out.append((name, entry))
        return out

    def known_routes(self, name: str) -> list[str]:
        """The vendor's documented operations (its spec), as ``METHOD path``."""
        return VENDORS[name].routes()

    def unmatched_report(self) -> list[str]:
        """One line per request no fake could serve, with the closest documented routes."""
        problems = []
        for name, entry in self.unmatched():
            wanted = f"{entry['method']} {entry['path']}"
            near = difflib.get_close_matches(wanted, self.known_routes(name), n=3, cutoff=0.4)
            hint = f"; closest: {', '.join(near)}" if near else "; it serves no such route"
            problems.append(f"  - {name}: {wanted} → {entry['status']}{hint}")
        return problems


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
            stack = InProcessStack(seed=seed)
            return StackHandle(mode, stack, stack.client), stack
        from .server import StackServer, bind_sockets, urls_of

        sockets = bind_sockets("127.0.0.1", 0)
        served = Stack(urls=urls_of("127.0.0.1", sockets), seed=seed)
        server = StackServer(served, sockets)
        server.start_in_thread()

        def client(name: str | None = None, **kwargs: Any) -> httpx.Client:
            return httpx.Client(base_url=served.urls[name] if name else "", **kwargs)

        return StackHandle(mode, served, client), server

    def close(self) -> None:
        for _handle, runner in self.stacks.values():
            if isinstance(runner, InProcessStack):
                runner.close()
            else:
                runner.stop_thread()
        self.stacks.clear()


class RemoteCallBlocked(AssertionError):
    pass


def block_remote(monkeypatch: Any) -> list[str]:
    """Fail any request to a host that is not loopback: httpx requests by URL, every other
    client (urllib, requests, raw sockets) at ``connect``. Returns the list of blocked calls,
    which the fixture checks when the test ends."""
    blocked: list[str] = []
    real_sync = httpx.HTTPTransport.handle_request
    real_async = httpx.AsyncHTTPTransport.handle_async_request
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def refuse(what: str, host: str) -> RemoteCallBlocked:
        blocked.append(what)
        return RemoteCallBlocked(
            f"careflow blocked a request to {host}: tests may only reach the "
            "sandbox on loopback. Point your client at the fixture's .url instead."
        )

    def check(request: httpx.Request) -> None:
        if not is_loopback_host(request.url.host):
            raise refuse(f"{request.method} {request.url}", request.url.host)

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

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", sync_handle)
    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", async_handle)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    return blocked
