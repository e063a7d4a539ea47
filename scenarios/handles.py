"""What the careflow pytest fixtures hand to a test: one ``ServiceHandle`` per service
(fixtures ``engine``, ``whatconverts``, ``caspio``, ``ours``) and a ``StackHandle``
(``careflow_stack``). Importable for annotations from ``careflow`` (``careflow.ServiceHandle``,
``careflow.StackHandle``) or ``careflow.scenarios.fixtures``.

Every helper goes through the service's own ``/__sandbox/`` admin API (the same calls work
against ``careflow up``), so a helper behaves alike in-process and over real sockets. When the
server refuses a call, the helper raises ``SandboxError`` carrying the server's message (say a
422 naming a misspelt key); a failed ``verify`` raises ``AssertionError`` with the server's
readable message, the closest requests and a field-by-field diff.

The stack has one clock: ``freeze``/``set_clock``/``advance`` on any handle move it for every
service, then ``settle()`` — wait until every webhook delivery, pipeline and workflow run caused
so far has finished — before they return.
"""

from __future__ import annotations

import asyncio
import difflib
import warnings
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, TypedDict, Unpack

import httpx

from careflow.clock import VirtualClock, format_instant, parse_instant
from careflow.mocks import VENDORS
from careflow.mocks.kernel.transports import BackgroundLoop

if TYPE_CHECKING:
    from careflow.mocks.kernel import Kernel

    from .stack import Stack

Instant = datetime | str
ClientFactory = Callable[..., httpx.Client]
AsyncClientFactory = Callable[..., httpx.AsyncClient]


class FaultOptions(TypedDict, total=False):
    """``fault()``'s options: the body of ``POST /__sandbox/faults`` (DESIGN.md)."""

    method: str
    kind: Literal["error", "latency", "timeout", "drop"]
    status: int
    body: Any
    times: int
    probability: float
    retry_after: int
    latency_ms: int
    tenant: str
    query: Mapping[str, Any]
    headers: Mapping[str, str | int]
    json: Any
    after: int


class Matcher(TypedDict, total=False):
    """``verify()``'s matcher: the body of ``POST /__sandbox/journal/verify`` (DESIGN.md)."""

    method: str
    path: str
    path_regex: str
    query: Mapping[str, Any]
    headers: Mapping[str, str | int]
    json: Any
    status: int
    times: int
    at_least: int
    never: bool


class JournalFilters(TypedDict, total=False):
    """``journal()``'s filters: the query of ``GET /__sandbox/journal``."""

    method: str
    path: str
    status: int
    correlation_id: str
    tenant: str


def error_detail(response: httpx.Response) -> str:
    """What the server said, readably: FastAPI's ``detail`` (a string, or a list of field
    errors as ``key: message``), a vendor error body, or the text."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:2000] or "(no body)"
    detail = body.get("detail", body) if isinstance(body, dict) else body
    if isinstance(detail, list) and all(isinstance(d, dict) and "msg" in d for d in detail):
        parts = []
        for item in detail:
            loc = [str(p) for p in item.get("loc", []) if p != "body"]
            got = f" (got {item['input']!r})" if "input" in item and loc else ""
            parts.append(f"{'.'.join(loc) or 'body'}: {item['msg']}{got}")
        return "; ".join(parts)
    return detail if isinstance(detail, str) else str(detail)[:2000]


class SandboxError(httpx.HTTPStatusError):
    """A ``/__sandbox/`` call the server refused; the message is the server's own."""

    def __init__(self, service: str, response: httpx.Response, hint: str = "") -> None:
        request = response.request
        self.service = service
        self.detail = error_detail(response)
        message = (
            f"{service}: {request.method} {request.url.path} answered "
            f"{response.status_code} {response.reason_phrase}: {self.detail}"
        )
        super().__init__(
            message + (f"\n{hint}" if hint else ""), request=request, response=response
        )


def _instant(at: Instant) -> str:
    if isinstance(at, str):
        return at
    return format_instant(at if at.tzinfo else at.replace(tzinfo=UTC))


def _seconds(amount: float | timedelta) -> float:
    return amount.total_seconds() if isinstance(amount, timedelta) else float(amount)


class ServiceHandle:
    """One service of the stack as a test sees it: its ``url`` and demo ``credentials``,
    clients, and helpers over its ``/__sandbox/`` admin API. ``journal``, ``verify``,
    ``fault``, ``state`` and ``seed`` are the fakes'; the engine has runs instead (its
    ``/api/runs``). Clock helpers move the stack's one clock."""

    def __init__(self, stack: StackHandle, name: str) -> None:
        self.stack = stack
        self.name = name
        self.url: str = stack.urls[name]
        self.credentials: dict[str, Any] = {
            k: v for k, v in stack.info.get(name, {}).items() if k != "url"
        }

    def __repr__(self) -> str:
        return f"<careflow {self.name} at {self.url} ({self.stack.mode})>"

    def _fake_only(self, what: str) -> None:
        if self.name == "engine":
            raise TypeError(
                f"the engine has no {what}: that is the fakes' admin API "
                f"({', '.join(self.stack.stack.fakes)}); the engine's runs are at "
                "engine.client().get('/api/runs')"
            )

    @property
    def kernel(self) -> Kernel:
        """The fake's kernel, in this process in either mode (for white-box checks)."""
        self._fake_only("kernel")
        return self.stack.stack.kernel(self.name)

    # HTTP ------------------------------------------------------------------------------------
    def client(self, **kwargs: Any) -> httpx.Client:
        """A sync ``httpx.Client`` with this service's URL as base (in-process or a socket)."""
        return self.stack.client(self.name, **kwargs)

    def async_client(self, **kwargs: Any) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` with this service's URL as base, usable from any event loop
        (in-process, each request runs on the stack's own loop)."""
        return self.stack.async_client(self.name, **kwargs)

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        """``method /__sandbox{path}``; the JSON answer, or ``SandboxError`` with the server's
        message when it refuses."""
        __tracebackhide__ = True
        with self.client() as client:
            response = client.request(method, f"/__sandbox{path}", **kwargs)
        if response.is_error:
            raise SandboxError(self.name, response)
        return response.json() if response.content else None

    def reset(self) -> None:
        """Back to the seeded state (the clock is not moved: ``careflow_stack.reset()`` is)."""
        self.admin("POST", "/reset")

    # the stack's one clock ---------------------------------------------------------------------
    def now(self) -> datetime:
        return self.stack.now()

    def freeze(self, at: Instant | None = None) -> datetime:
        """Stop the clock (at ``at`` when given: ISO-8601 or an aware datetime)."""
        return self.stack.freeze(at)

    def unfreeze(self) -> datetime:
        return self.stack.unfreeze()

    def set_clock(self, at: Instant) -> datetime:
        """Move the clock to ``at`` (frozen stays frozen); what became due runs first."""
        return self.stack.set_clock(at)

    def advance(self, seconds: float | timedelta) -> datetime:
        """Move the clock forward; retries, delays, polls and schedules that became due run
        before this returns."""
        return self.stack.advance(seconds)

    def settle(self) -> None:
        """Wait until every delivery and run caused so far has finished (the whole stack)."""
        self.stack.settle()

    # state -----------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """The whole state as JSON (``GET /__sandbox/state``): ``{"service", "state", ...}``."""
        self._fake_only("state")
        return self.admin("GET", "/state")  # type: ignore[no-any-return]

    def load_state(self, document: Mapping[str, Any]) -> None:
        """Replace the state with a document ``state()`` returned (``POST /__sandbox/state``)."""
        self._fake_only("state")
        self.admin("POST", "/state", json=dict(document))

    def seed(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Add data (``POST /__sandbox/seed``), e.g. ``{"synthetic": {"leads": 50}}``."""
        self._fake_only("seed")
        return self.admin("POST", "/seed", json=dict(data))  # type: ignore[no-any-return]

    # requests received -----------------------------------------------------------------------
    def journal(self, **filters: Unpack[JournalFilters]) -> list[dict[str, Any]]:
        """The requests this fake received, oldest first, secrets and PHI masked."""
        self._fake_only("journal")
        params = {k: v for k, v in filters.items() if v is not None}
        return self.admin("GET", "/journal", params=params)["items"]  # type: ignore[no-any-return]

    def verify(self, **matcher: Unpack[Matcher]) -> dict[str, Any]:
        """Assert this fake received the requests described (``POST /__sandbox/journal/verify``:
        ``method``, ``path`` or ``path_regex``, ``query``, ``headers``, ``json`` subset,
        ``status``; ``times`` | ``at_least`` (default 1) | ``never``). Returns the answer
        (``{"ok": True, "matched": n}``); raises ``AssertionError`` with the server's message —
        the closest requests, best first, with a field-by-field diff — when it does not hold."""
        __tracebackhide__ = True
        self._fake_only("journal")
        answer: dict[str, Any] = self.admin("POST", "/journal/verify", json=matcher)
        if not answer["ok"]:
            raise AssertionError(answer["message"])
        return answer

    # faults ----------------------------------------------------------------------------------
    def fault(self, path: str, **spec: Unpack[FaultOptions]) -> dict[str, Any]:
        """Inject a fault on ``path`` (``POST /__sandbox/faults``): ``kind`` error (``status``,
        default 500, ``body``, ``retry_after``), latency (``latency_ms``), timeout or drop;
        ``method``, ``times``, ``probability``, ``after``, ``query``/``headers``/``json`` narrow
        it. Returns the fault (``id``…); warns when no route of the fake serves ``path``."""
        __tracebackhide__ = True
        self._fake_only("faults")
        try:
            created: dict[str, Any] = self.admin("POST", "/faults", json={"path": path, **spec})
        except SandboxError as exc:
            unknown = [k for k in spec if k not in FaultOptions.__annotations__]
            if not unknown:
                raise
            hints = []
            for key in unknown:
                near = difflib.get_close_matches(key, FaultOptions.__annotations__, n=1)
                hints.append(f"'{key}'" + (f" (did you mean '{near[0]}'?)" if near else ""))
            options = ", ".join(FaultOptions.__annotations__)
            raise SandboxError(
                self.name,
                exc.response,
                f"fault() got {', '.join(hints)}; its options are: {options}",
            ) from None
        if created.get("warning"):
            warnings.warn(f"careflow {self.name}: {created['warning']}", UserWarning, stacklevel=2)
        return created

    def faults(self) -> list[dict[str, Any]]:
        self._fake_only("faults")
        return self.admin("GET", "/faults")["items"]  # type: ignore[no-any-return]

    def clear_faults(self) -> int:
        """Remove every fault; returns how many there were."""
        self._fake_only("faults")
        return int(self.admin("DELETE", "/faults")["deleted"])


class StackHandle:
    """The whole stack for one test (fixture ``careflow_stack``): ``mode``, ``urls``,
    ``info`` (the info file's JSON), ``services`` (``stack["ours"]`` is a ``ServiceHandle``),
    clients, the shared ``clock`` (a ``VirtualClock``) and its helpers, ``settle()``."""

    def __init__(
        self,
        mode: str,
        stack: Stack,
        *,
        client: ClientFactory,
        async_client: AsyncClientFactory,
        settle: Callable[[], None],
    ) -> None:
        self.mode = mode
        self.stack = stack
        self.urls = dict(stack.urls)
        self.info: dict[str, Any] = stack.info()
        self.clock: VirtualClock = stack.clock
        self._client = client
        self._async_client = async_client
        self._settle = settle
        self.services = {name: ServiceHandle(self, name) for name in ("engine", *stack.fakes)}

    def __getitem__(self, name: str) -> ServiceHandle:
        return self.services[name]

    def __repr__(self) -> str:
        return f"<careflow stack ({self.mode}): {', '.join(self.services)}>"

    def client(self, name: str | None = None, **kwargs: Any) -> httpx.Client:
        """A sync client (with ``name``'s URL as base when given) that reaches the stack."""
        return self._client(name, **kwargs)

    def async_client(self, name: str | None = None, **kwargs: Any) -> httpx.AsyncClient:
        """An async client (``name``'s URL as base when given), usable from any event loop."""
        return self._async_client(name, **kwargs)

    def reset(self) -> None:
        """Seeded state on every service, the clock back on real time."""
        self.clock.reset()
        for service in self.services.values():
            service.reset()
        blocked = getattr(self.stack, "blocked", None)
        if isinstance(blocked, list):
            blocked.clear()

    # the one clock ---------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock.now()

    def _move(self, **body: Any) -> datetime:
        answer = self["engine"].admin("POST", "/clock", json=body)
        self.settle()
        return parse_instant(answer["now"])

    def freeze(self, at: Instant | None = None) -> datetime:
        """Stop the clock, at ``at`` when given; what became due runs before this returns."""
        return self._move(frozen=True, **({"set": _instant(at)} if at is not None else {}))

    def unfreeze(self) -> datetime:
        """Let the clock run again, from where it stood."""
        return self._move(frozen=False)

    def set_clock(self, at: Instant) -> datetime:
        return self._move(set=_instant(at))

    def advance(self, seconds: float | timedelta) -> datetime:
        return self._move(advance_seconds=_seconds(seconds))

    def settle(self) -> None:
        """Wait until every webhook delivery, pipeline and workflow run caused so far has
        finished, across the fakes and the engine (what ``POST /__sandbox/settle`` does for
        one service, repeated until the stack is quiet)."""
        self._settle()

    # what no fake could serve ----------------------------------------------------------------
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


class LoopBridge(httpx.AsyncBaseTransport):
    """An async transport usable from any event loop (a test's asyncio or trio loop) whose
    requests run on the in-process stack's own loop, where its apps and background work live."""

    def __init__(self, transport: httpx.AsyncBaseTransport, loop: BackgroundLoop) -> None:
        self.transport = transport
        self.loop = loop

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        inner = httpx.Request(
            request.method,
            request.url,
            headers=request.headers,
            content=body,
            extensions=request.extensions,
        )

        async def call() -> tuple[int, httpx.Headers, bytes, dict[str, Any]]:
            response = await self.transport.handle_async_request(inner)
            content = await response.aread()
            return response.status_code, response.headers, content, dict(response.extensions)

        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None  # not asyncio (trio through anyio)
        if running is self.loop.loop:
            status, headers, content, extensions = await call()
        else:
            future = asyncio.run_coroutine_threadsafe(call(), self.loop.loop)
            if running is not None:
                status, headers, content, extensions = await asyncio.wrap_future(future)
            else:
                import anyio.to_thread

                status, headers, content, extensions = await anyio.to_thread.run_sync(future.result)
        return httpx.Response(status, headers=headers, content=content, extensions=extensions)


__all__ = [
    "FaultOptions",
    "JournalFilters",
    "LoopBridge",
    "Matcher",
    "SandboxError",
    "ServiceHandle",
    "StackHandle",
    "error_detail",
]
