"""What the kernel's middleware does with a request before and after its route (a hook kept
apart from middleware.py): the stack's input limits (``careflow.limits``) answered in the
vendor's error shape, the durable flush before each answer starts, and the one place an
unexpected exception becomes the vendor's 500 with one log line.

Admin calls (``/__sandbox/``) get the same limits in FastAPI's ``{"detail": ...}`` shape; an admin
call that changed a tenant (2xx, not a read) writes that tenant whole at its flush.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

import careflow.limits as limits
from careflow.limits import BadInput, ClientGone

from .core import Kernel

__all__ = ["BadInput", "ClientGone", "admin_call", "read", "serve"]

# admin paths that never change a tenant's data (faults, clock, journal ... live elsewhere)
_STATELESS = ("/faults", "/clock", "/journal", "/settle", "/webhooks/deliveries", "/health")


def _resource(scope: Scope) -> str:
    from .middleware import request_url

    return request_url(scope)


def vendor_error(
    kernel: Kernel, status: int, message: str, scope: Scope, part: str = "body"
) -> tuple[Any, dict]:
    assert kernel.backend is not None
    return kernel.backend.input_error(status, message, _resource(scope), part)


async def read(kernel: Kernel, scope: Scope, receive: Receive) -> bytes:
    """The request body within the service's limits (BadInput / ClientGone otherwise)."""
    limits.check_query(scope)
    limit = kernel.backend.body_limit if kernel.backend is not None else limits.BODY_LIMIT
    return await limits.read_body(scope, receive, limit=limit)


async def serve(
    kernel: Kernel,
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    raw: bytes,
    refused: BadInput | None = None,
    *,
    admin: bool = False,
    on_start: Any = None,
) -> None:
    """Check the body, run the route; refusals and unexpected errors in the right shape. With
    a data dir every change is on disk before the answer starts (``on_start(status)`` first)."""

    def shape(status: int, message: str, part: str = "body") -> tuple[Any, dict]:
        if admin:
            return limits.detail_error(status, message, scope)
        return vendor_error(kernel, status, message, scope, part)

    try:
        if refused is not None:
            raise refused
        await limits.check_body(scope, raw)
    except BadInput as exc:
        status = limits.detail_status(exc.status) if admin else exc.status
        await limits.send_json(send, status, *shape(status, exc.message, exc.part))
        return
    started = False

    async def flushing(message: Message) -> None:
        nonlocal started
        if message["type"] == "http.response.start":
            started = True
            if on_start is not None:
                on_start(message["status"])
            kernel.flush()
        await send(message)

    try:
        await app(scope, limits.replay(raw, receive), flushing)
    except Exception as exc:
        if started:
            raise
        message = limits.unexpected(exc, scope, kernel.service)
        await limits.send_json(send, 500, *shape(500, message))


async def admin_call(
    kernel: Kernel, app: ASGIApp, scope: Scope, receive: Receive, send: Send
) -> None:
    """An admin call under the limits; a tenant it changed is written whole."""
    try:
        raw = await read(kernel, scope, receive)
        refused = None
    except BadInput as exc:
        raw, refused = b"", exc
    except ClientGone:
        return

    def changed(status: int) -> None:
        path = scope["path"][len("/__sandbox") :]
        backend = kernel.backend
        if (
            backend is None
            or status >= 300
            or scope["method"] in ("GET", "HEAD", "OPTIONS")
            or path.startswith(_STATELESS)
        ):
            return
        backend.changed_tenant(_tenant_of(scope))

    await serve(kernel, app, scope, receive, send, raw, refused, admin=True, on_start=changed)


def _tenant_of(scope: Scope) -> str:
    from urllib.parse import parse_qs

    header = limits.header(scope, b"x-sandbox-tenant")
    if header:
        return header
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return query.get("tenant", ["default"])[0]
