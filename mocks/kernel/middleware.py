"""ASGI middleware around every vendor route: correlation id, fault injection, journal."""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import json
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from careflow.clock import next_order

from . import intake
from .core import Kernel, correlation_id, new_request_id
from .journal import RESPONSE_COLLECT_LIMIT, JournalRecord
from .masking import BODY_VIEW_LIMIT
from .matching import RequestView

ADMIN_PREFIX = "/__sandbox"
# A request sent to an alias spelling of the vendor's paths (``Vendor.path_aliases``) is routed
# as its canonical spelling; the scope keeps the path as received under this key.
RECEIVED = "careflow.received"


class SandboxTimeout(httpx.ReadTimeout):
    """Raised in-process for a ``timeout`` fault: the client sees a read timeout."""


class SandboxDroppedConnection(httpx.RemoteProtocolError):
    """Raised for a ``drop`` fault: the connection closes mid-answer."""


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


async def send_json(
    send: Send, status: int, body: Any, headers: dict[str, str] | None = None
) -> None:
    payload = json.dumps(body).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw += [(k.lower().encode(), str(v).encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


def request_url(scope: Scope) -> str:
    """The URL a request was sent to, as the client wrote it."""
    host = _header(scope, b"host") or "127.0.0.1"
    query = scope.get("query_string", b"").decode("latin-1")
    path = received_path(scope)
    return f"{scope.get('scheme', 'http')}://{host}{path}" + (f"?{query}" if query else "")


def received_path(scope: Scope) -> str:
    """The request's path as the client sent it (an alias spelling is routed as canonical)."""
    received = scope.get(RECEIVED)
    return received[0] if received else scope["path"]  # type: ignore[no-any-return]


def route_as_received(scope: Scope, route: str | None) -> str | None:
    """A matched route template in the spelling the client used."""
    received = scope.get(RECEIVED)
    if received and route and route.startswith(received[2]):
        return received[1] + route[len(received[2]) :]
    return route


def request_credentials(scope: Scope, raw_body: bytes) -> Iterator[str]:
    """Every value in a request that could be a vendor credential, where vendors put them:
    Basic user / Bearer token, ``token``/``client_id``/``api_token`` in query, form or JSON
    body, and path segments (a webhook URL token). Used to find a request's tenant before
    routing, for tenant-scoped faults."""
    auth = _header(scope, b"authorization") or ""
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "basic":
        try:
            user = base64.b64decode(value).decode("latin-1").partition(":")[0]
        except (binascii.Error, ValueError):
            user = ""
        yield user
    elif scheme.lower() == "bearer":
        yield value.strip()
    keys = ("token", "client_id", "api_token")
    fields = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
    content_type = _header(scope, b"content-type") or ""
    if "json" in content_type:
        try:
            document = json.loads(raw_body or b"null")
        except ValueError:
            document = None
        if isinstance(document, dict):
            fields.update({k: v for k, v in document.items() if isinstance(v, str)})
    elif "form" in content_type:
        fields.update(parse_qsl(raw_body.decode("latin-1")))
    yield from (fields[key] for key in keys if key in fields)
    yield from (segment for segment in scope["path"].split("/") if len(segment) >= 8)


class SandboxMiddleware:
    def __init__(
        self, app: ASGIApp, kernel: Kernel, path_aliases: tuple[tuple[str, str], ...] = ()
    ) -> None:
        self.app = app
        self.kernel = kernel
        # (alias prefix, canonical prefix): the routes exist once, in the canonical spelling
        self.path_aliases = path_aliases

    def _route_alias(self, scope: Scope) -> None:
        path = scope["path"]
        for alias, canonical in self.path_aliases:
            if path.startswith(alias):
                scope[RECEIVED] = (path, alias, canonical)
                scope["path"] = canonical + path[len(alias) :]
                return

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cid = _header(scope, b"x-request-id") or new_request_id()
        token = correlation_id.set(cid)
        cid_header = (b"x-request-id", cid.encode("latin-1"))
        try:
            if scope["path"].startswith(ADMIN_PREFIX):
                kernel = self.kernel
                changed = functools.partial(intake.admin_changed, kernel, scope)
                answer = intake.Answer()
                echo = self._echo(send, cid_header, {}, answer=answer, on_start=changed)
                await intake.admin_call(kernel, self.app, scope, receive, echo, answer)
                return
            await self._vendor_call(scope, receive, send, cid, cid_header)
        finally:
            correlation_id.reset(token)

    def _echo(
        self,
        send: Send,
        cid_header: tuple[bytes, bytes],
        seen: dict[str, Any],
        before_last: Callable[[], None] | None = None,
        answer: intake.Answer | None = None,
        on_start: Callable[[int], None] | None = None,
    ) -> Send:
        """The one wrapper around a request's ``send``. With an ``answer``, it does intake's
        part as the answer starts (``intake.starting``: ``on_start(status)``, the durable
        flush). It adds the correlation id; notes the status, content type and (up to the
        journal's limit) the body in ``seen``; calls ``before_last`` just before the answer's
        last chunk goes out, so that a client that has its answer always finds it in the
        journal."""
        kernel = self.kernel
        collect = before_last is not None

        async def wrapped(message: Message) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                status = message["status"]
                if answer is not None:
                    answer.begun = True
                    if answer.flush:
                        intake.starting(kernel, status, on_start)
                seen["status"] = status
                headers = message.get("headers", ())
                for key, value in headers:
                    if key.lower() == b"content-type":
                        seen["type"] = value.decode("latin-1")
                message = {**message, "headers": [*headers, cid_header]}
            elif kind == "http.response.body":
                if collect and (chunk := message.get("body", b"")):
                    seen["total"] = total = seen.get("total", 0) + len(chunk)
                    if total <= RESPONSE_COLLECT_LIMIT:
                        seen.setdefault("chunks", []).append(chunk)
                if collect and not message.get("more_body"):
                    before_last()  # type: ignore[misc]
            await send(message)

        return wrapped

    def _tenant_of(self, scope: Scope, raw_body: bytes) -> Callable[[], str | None]:
        """A lazy lookup of the request's tenant, done at most once however many tenant-scoped
        faults ask (it may parse the body)."""

        @functools.cache
        def resolve() -> str | None:
            backend = self.kernel.backend
            if backend is None:
                return None
            for credential in request_credentials(scope, raw_body):
                if (tenant := backend.tenant_for(credential)) is not None:
                    return tenant
            return None

        return resolve

    async def _vendor_call(
        self, scope: Scope, receive: Receive, send: Send, cid: str, cid_header: tuple[bytes, bytes]
    ) -> None:
        kernel = self.kernel
        order = next_order()  # when the request arrived, for timelines
        started = time.perf_counter()
        try:  # the stack's input limits (intake.py): a refusal is answered, and journaled
            raw_body, refused = await intake.read(kernel, scope, receive), None
        except intake.BadInput as exc:
            raw_body, refused = b"", exc
        except intake.ClientGone:
            return

        async def app() -> None:
            await intake.serve(
                kernel, self.app, scope, receive, echo, raw_body, refused, answer=answer
            )

        seen: dict[str, Any] = {"status": None, "started": started, "virtual_s": 0.0}
        scope.setdefault("state", {})
        method, path = scope["method"], scope["path"]
        view = RequestView(
            method,
            path,
            scope.get("query_string", b"").decode("latin-1"),
            scope.get("headers", []),
            raw_body,
        )
        faults = kernel.faults
        fault = (
            faults.match(method, path, self._tenant_of(scope, raw_body), view)
            if faults.active()
            else None
        )
        if self.path_aliases:
            self._route_alias(scope)
        fault_info = None
        journaled = False

        def journal() -> None:
            nonlocal journaled
            if not journaled:
                journaled = True
                self._journal(scope, view, cid, seen, fault_info, order)

        # the route's answer goes through ``echo``, which also flushes (see intake.Answer)
        answer = intake.Answer()
        echo = self._echo(send, cid_header, seen, journal, answer)
        try:
            if fault is None:
                await app()
                return
            spec = fault.spec
            fault_info = {"id": fault.id, "kind": spec.kind}
            if spec.kind == "latency":
                if await self._delay((spec.latency_ms or 0) / 1000):
                    seen["virtual_s"] = (spec.latency_ms or 0) / 1000
                await app()
            elif spec.kind == "error":
                status = spec.status or 500
                assert kernel.backend is not None
                default_body, headers = kernel.backend.error_body(
                    status, f"Injected fault #{fault.id}", request_url(scope)
                )
                body_out = spec.body if spec.body is not None else default_body
                headers = {**headers, "x-sandbox-fault": str(fault.id)}
                if spec.retry_after is not None:
                    headers["retry-after"] = str(spec.retry_after)
                answer.flush = False  # no route ran: nothing to write
                await send_json(echo, status, body_out, headers)
            elif spec.kind == "timeout":
                seen["status"] = 0
                journal()
                if not kernel.over_socket:
                    raise SandboxTimeout(f"sandbox fault #{fault.id}: read timeout")
                # Over a socket: say nothing until the client gives up (its timeout) or
                # ``latency_ms`` passes, then close the connection without an answer.
                if await self._silence(receive, (spec.latency_ms or 30_000) / 1000):
                    return  # the client hung up: nothing left to send
                await self._cut(send, cid_header, f"sandbox fault #{fault.id}: timeout")
            else:  # drop
                seen["status"] = 0
                journal()
                await self._cut(send, cid_header, f"sandbox fault #{fault.id}: connection dropped")
        finally:
            journal()

    @staticmethod
    async def _silence(receive: Receive, seconds: float) -> bool:
        """Wait, answering nothing, until the client disconnects (True) or ``seconds`` pass."""
        try:
            async with asyncio.timeout(seconds):
                while (await receive())["type"] != "http.disconnect":
                    pass
        except TimeoutError:
            return False
        return True

    @staticmethod
    async def _cut(send: Send, cid_header: tuple[bytes, bytes], reason: str) -> None:
        """Promise a body, then close the connection without it: the client sees a protocol
        error (a server can only answer 500 for an app that fails before it starts)."""
        headers = [(b"content-length", b"64"), cid_header]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        raise SandboxDroppedConnection(reason)

    async def _delay(self, seconds: float) -> bool:
        """Delay a request; True when the delay was virtual (a frozen clock)."""
        clock = self.kernel.clock
        if clock.frozen:
            clock.advance(seconds)  # virtual latency: nobody waits,
            await asyncio.sleep(0)  # but the request yields, so concurrent ones overlap in flight
            return True
        await asyncio.sleep(seconds)
        return False

    def _journal(
        self,
        scope: Scope,
        view: RequestView,
        cid: str,
        seen: dict[str, Any],
        fault: Any,
        order: int,
    ) -> None:
        """Record the request as received (masked when read) with the start of its answer."""
        kernel = self.kernel
        if len(view.body) > BODY_VIEW_LIMIT:  # 5,000 entries of 10 MiB would not fit in memory
            view.omitted, view.body = len(view.body), b""
        state = scope.get("state", {})
        # a route may hide a credential carried in its path (e.g. a webhook URL token)
        if (journal_path := state.get("journal_path")) is not None:
            view.path = journal_path
        chunks: list[bytes] = seen.get("chunks", [])
        total: int = seen.get("total", 0)
        raw = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        content_type: str = seen.get("type", "")
        response = kernel.journal.answer(raw, content_type, total)  # masked when read
        elapsed = time.perf_counter() - seen["started"] + seen["virtual_s"]
        kernel.journal.record(
            JournalRecord(
                request=view,
                time=kernel.clock.now(),  # formatted when read
                order=order,
                status=seen["status"],
                correlation_id=cid,
                fault=fault,
                tenant=state.get("tenant"),
                route=route_as_received(scope, getattr(scope.get("route"), "path", None)),
                matched="route" in scope,
                response=response,
                response_type=content_type,
                response_total=total,
                elapsed_ms=round(elapsed * 1000, 3),
            )
        )
