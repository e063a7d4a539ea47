"""Code written for the real vendors, unchanged: route their real hosts to in-process fakes.

``from careflow import intercept``::

    with intercept(seed=0) as stack:          # or @intercept(seed=0) on a function
        requests.get("https://app.whatconverts.com/api/v1/leads", auth=...)

For the block's duration, every request to a vendor's real host (``Vendor.real_hosts`` of each
vendor in ``careflow.mocks.VENDORS``: ``app.whatconverts.com``, any ``*.caspio.com`` account
host, ``api.oursprivacy.com`` ...) is answered by that vendor's fake in an ``InProcessStack``:
no socket, no DNS, no certificate (``https://`` works as is). The stack's own URLs
(``stack.info()``, e.g. ``http://whatconverts.careflow.localhost``) are served in-process too.
Other loopback hosts are reached as usual; any other host is refused with ``InterceptBlocked``
before anything is sent. Clients covered: httpx and httpx2 (sync and async, clients built
before the block included: the transports' handle methods are patched), ``requests`` and
``urllib3``, ``urllib.request``, aiohttp when installed; raw sockets to non-loopback addresses
are refused at ``connect``. The patches are process-wide while at least one block is open; the
innermost open block's stack answers.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
from collections.abc import Callable, Iterable
from typing import Any, Literal, TypeVar

import httpx

from careflow.mocks import VENDORS
from careflow.mocks.kernel import is_loopback_host
from careflow.mocks.kernel.middleware import SandboxDroppedConnection, SandboxTimeout
from careflow.mocks.kernel.transports import netloc_of

from .stack import InProcessStack, services

F = TypeVar("F", bound=Callable[..., Any])
URL_HOST = "careflow.localhost"  # the stack's own URLs: {service}.careflow.localhost


def own_urls() -> dict[str, str]:
    """The stack's own URLs, answered in-process only: ``http://{service}.careflow.localhost``
    (``.localhost`` names are loopback, RFC 6761, so the fakes take the engine's hook URLs as
    webhook targets over plain ``http://``, DESIGN.md "Webhook targets")."""
    return {name: f"http://{name}.{URL_HOST}" for name in services()}


class InterceptBlocked(AssertionError):
    """A request to a host that is neither a vendor's real host nor loopback, under intercept.
    An ``AssertionError``, so a test fails even where the code under test catches ``Exception``
    around its HTTP calls... mostly: the stack also keeps the list in ``stack.blocked``."""


class FaultTimeout(Exception):
    """An injected ``timeout`` fault (each client adapter raises its own timeout error)."""


class FaultDropped(Exception):
    """An injected ``drop`` fault (each client adapter raises its own protocol error)."""


Decision = Literal["fake", "pass", "block"]


def vendor_hosts() -> list[str]:
    """Every vendor's real host patterns, from the registry."""
    return [pattern for name in VENDORS for pattern in VENDORS[name].real_hosts]


class InterceptStack(InProcessStack):
    """An ``InProcessStack`` that also answers the vendors' real hosts (see the module doc)."""

    def __init__(self, seed: int = 0, **options: Any) -> None:
        options.setdefault("urls", own_urls())
        super().__init__(seed=seed, **options)
        self.blocked: list[str] = []
        self._netlocs = {netloc_of(url): name for name, url in self.urls.items()}
        self._transports = {name: httpx.ASGITransport(app=app) for name, app in self.apps.items()}

    # routing ---------------------------------------------------------------------------------
    def service_for(self, scheme: str, host: str, port: int | None) -> str | None:
        """The service that answers ``scheme://host:port`` in-process, if any."""
        host = (host or "").lower().rstrip(".")
        vendor = VENDORS.for_host(host)
        if vendor is not None and vendor.name in self.apps:
            return vendor.name
        return self._netlocs.get(f"{host}:{port or (443 if scheme == 'https' else 80)}")

    def decide(self, scheme: str, host: str, port: int | None) -> tuple[Decision, str | None]:
        """``fake`` (answer in-process), ``pass`` (loopback: send as usual) or ``block``."""
        name = self.service_for(scheme, host, port)
        if name is not None:
            return "fake", name
        return ("pass", None) if is_loopback_host(host) else ("block", None)

    def refuse(self, what: str, host: str) -> InterceptBlocked:
        self.blocked.append(what)
        patterns = ", ".join(vendor_hosts())
        return InterceptBlocked(
            f"careflow.intercept blocked {what}: {host} is not a vendor host the sandbox "
            f"fakes ({patterns}) nor loopback. Send it to one of those, mock it another way, "
            "or make the call outside the intercept block."
        )

    # calls -----------------------------------------------------------------------------------
    async def _call(
        self, name: str, method: str, url: str, headers: Iterable[tuple[Any, Any]], body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        request = httpx.Request(method, url, headers=list(headers), content=body)
        try:
            response = await self._transports[name].handle_async_request(request)
            content = await response.aread()
        except SandboxTimeout as exc:
            raise FaultTimeout(str(exc)) from None
        except (SandboxDroppedConnection, httpx.RemoteProtocolError) as exc:
            raise FaultDropped(str(exc)) from None
        return response.status_code, list(response.headers.raw), content

    def send(
        self, name: str, method: str, url: str, headers: Iterable[tuple[Any, Any]], body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """One request to service ``name``, answered on the stack's loop (from any thread)."""
        if threading.current_thread() is self.loop._thread:
            raise RuntimeError("a blocking client cannot call the stack from the stack's loop")
        return self.loop.run(self._call(name, method, url, headers, body))  # type: ignore[no-any-return]

    async def asend(
        self, name: str, method: str, url: str, headers: Iterable[tuple[Any, Any]], body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Like ``send``, awaited from any event loop."""
        call = self._call(name, method, url, headers, body)
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop.loop:
            return await call
        future = asyncio.run_coroutine_threadsafe(call, self.loop.loop)
        return await asyncio.wrap_future(future)

    def reset(self) -> None:
        """Seeded state again, on a real-time clock; nothing blocked so far."""
        self.clock.reset()
        super().reset()
        self.engine_reset()
        self.blocked.clear()

    def engine_reset(self) -> None:
        with self.client("engine") as client:
            client.post("/__sandbox/reset").raise_for_status()


# the open blocks -------------------------------------------------------------------------------

_active: list[InterceptStack] = []
_lock = threading.Lock()


def active_stack() -> InterceptStack | None:
    """The innermost open block's stack (None outside any block)."""
    return _active[-1] if _active else None


def _push(stack: InterceptStack) -> None:
    from . import intercept_clients

    with _lock:
        if not _active:
            intercept_clients.install(active_stack)
        _active.append(stack)


def _pop(stack: InterceptStack) -> None:
    from . import intercept_clients

    with _lock:
        _active.remove(stack)
        if not _active:
            intercept_clients.uninstall()


class Intercept:
    """``with intercept(...) as stack`` and ``@intercept(...)`` (see the module doc)."""

    def __init__(self, seed: int = 0, *, stack: InterceptStack | None = None, **options: Any):
        self.seed = seed
        self.options = options
        self._given = stack
        self.stack: InterceptStack | None = None

    def __enter__(self) -> InterceptStack:
        if self.stack is not None:
            raise RuntimeError("this intercept block is already open (make a new one to nest)")
        stack = self._given or InterceptStack(seed=self.seed, **self.options)
        self.stack = stack
        _push(stack)
        return stack

    def __exit__(self, *exc: object) -> None:
        stack, self.stack = self.stack, None
        assert stack is not None
        _pop(stack)
        if self._given is None:
            stack.close()

    def __call__(self, func: F) -> F:
        """As a decorator: each call runs in a fresh block (async functions too)."""
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with Intercept(self.seed, stack=self._given, **self.options):
                    return await func(*args, **kwargs)

            return run_async  # type: ignore[return-value]

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            with Intercept(self.seed, stack=self._given, **self.options):
                return func(*args, **kwargs)

        return run  # type: ignore[return-value]


def intercept(
    func: Callable[..., Any] | None = None,
    /,
    *,
    seed: int = 0,
    stack: InterceptStack | None = None,
    **options: Any,
) -> Any:
    """Route the vendors' real hosts to in-process fakes: ``with intercept(seed=0) as stack:``,
    ``@intercept(seed=0)`` or bare ``@intercept``. ``options`` go to the ``InterceptStack``
    (e.g. ``clock=``); ``stack=`` reuses an open stack instead of making one."""
    block = Intercept(seed, stack=stack, **options)
    return block(func) if func is not None else block


__all__ = [
    "FaultDropped",
    "FaultTimeout",
    "Intercept",
    "InterceptBlocked",
    "InterceptStack",
    "active_stack",
    "intercept",
    "vendor_hosts",
]
