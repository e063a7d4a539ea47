"""ASGI middleware around every vendor route: correlation id, fault injection, journal."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .clock import format_instant, next_order
from .core import Kernel, correlation_id

ADMIN_PREFIX = "/__sandbox"


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


class SandboxMiddleware:
    def __init__(self, app: ASGIApp, kernel: Kernel) -> None:
        self.app = app
        self.kernel = kernel

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cid = _header(scope, b"x-request-id") or uuid.uuid4().hex
        token = correlation_id.set(cid)
        cid_header = (b"x-request-id", cid.encode("latin-1"))
        try:
            if scope["path"].startswith(ADMIN_PREFIX):
                await self.app(scope, receive, self._echo(send, cid_header, {}))
                return
            await self._vendor_call(scope, receive, send, cid, cid_header)
        finally:
            correlation_id.reset(token)

    @staticmethod
    def _echo(send: Send, cid_header: tuple[bytes, bytes], seen: dict[str, Any]) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                message = {**message, "headers": [*message.get("headers", []), cid_header]}
            await send(message)

        return wrapped

    async def _vendor_call(
        self, scope: Scope, receive: Receive, send: Send, cid: str, cid_header: tuple[bytes, bytes]
    ) -> None:
        kernel = self.kernel
        order = next_order()  # when the request arrived, for timelines
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        raw_body = bytes(body)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": raw_body, "more_body": False}
            return await receive()

        seen: dict[str, Any] = {"status": None}
        scope.setdefault("state", {})
        method, path = scope["method"], scope["path"]
        fault = kernel.faults.match(method, path)
        fault_info = None
        try:
            if fault is not None:
                spec = fault.spec
                fault_info = {"id": fault.id, "kind": spec.kind}
                if spec.kind == "latency":
                    await self._delay((spec.latency_ms or 0) / 1000)
                    await self.app(scope, replay, self._echo(send, cid_header, seen))
                elif spec.kind == "error":
                    status = spec.status or 500
                    assert kernel.backend is not None
                    default_body, headers = kernel.backend.error_body(
                        status, f"Injected fault #{fault.id}"
                    )
                    body_out = spec.body if spec.body is not None else default_body
                    headers = {**headers, "x-sandbox-fault": str(fault.id)}
                    if spec.retry_after is not None:
                        headers["retry-after"] = str(spec.retry_after)
                    seen["status"] = status
                    await send_json(self._echo(send, cid_header, {}), status, body_out, headers)
                elif spec.kind == "timeout":
                    seen["status"] = 0
                    if kernel.over_socket:
                        await asyncio.sleep((spec.latency_ms or 30_000) / 1000)
                        raise SandboxDroppedConnection("sandbox fault: timeout")
                    raise SandboxTimeout(f"sandbox fault #{fault.id}: read timeout")
                else:  # drop
                    seen["status"] = 0
                    await send(
                        {
                            "type": "http.response.start",
                            "status": 200,
                            "headers": [(b"content-length", b"64"), cid_header],
                        }
                    )
                    raise SandboxDroppedConnection(f"sandbox fault #{fault.id}: connection dropped")
            else:
                await self.app(scope, replay, self._echo(send, cid_header, seen))
        finally:
            self._journal(scope, raw_body, cid, seen["status"], fault_info, order)

    async def _delay(self, seconds: float) -> None:
        clock = self.kernel.clock
        if clock.frozen:
            clock.advance(seconds)  # virtual latency: nobody waits,
            await asyncio.sleep(0)  # but the request yields, so concurrent ones overlap in flight
        else:
            await asyncio.sleep(seconds)

    def _journal(
        self,
        scope: Scope,
        raw_body: bytes,
        cid: str,
        status: int | None,
        fault: Any,
        order: int,
    ) -> None:
        kernel = self.kernel
        masker = kernel.masker
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", [])]
        content_type = next((v for k, v in headers if k == "content-type"), "")
        state = scope.get("state", {})
        kernel.journal.record(
            {
                "time": format_instant(kernel.clock.now()),
                "order": order,
                "method": scope["method"],
                # a route may hide a credential carried in its path (e.g. a webhook URL token)
                "path": state.get("journal_path") or scope["path"],
                "query": masker.query(scope.get("query_string", b"").decode("latin-1")),
                "status": status,
                "correlation_id": cid,
                "request_headers": masker.headers(headers),
                "request_body": masker.body(raw_body, content_type),
                "fault": fault,
                "tenant": state.get("tenant"),
                "route": getattr(scope.get("route"), "path", None),
                "matched": "route" in scope,
            }
        )
