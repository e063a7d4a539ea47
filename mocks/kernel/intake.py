"""What the kernel's middleware does with a request before and after its route (a hook kept
apart from middleware.py): the stack's input limits (``careflow.limits``) answered in the
vendor's error shape, the durable flush before each answer starts, and the one place an
unexpected exception becomes the vendor's 500 with one log line.

Admin calls (``/__sandbox/``) get the same limits in FastAPI's ``{"detail": ...}`` shape; an admin
call that changed a tenant (2xx, not a read) writes that tenant whole at its flush.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

import careflow.limits as limits
from careflow.limits import BadInput, ClientGone

from .core import Kernel

__all__ = [
    "Answer",
    "BadInput",
    "ClientGone",
    "admin_call",
    "admin_changed",
    "read",
    "serve",
    "starting",
]

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
    return await limits.read_body(scope, receive, limit=limit, timeout=kernel.body_timeout)


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
    answer: Answer | None = None,
) -> None:
    """Check the body, run the route; refusals and unexpected errors in the right shape. With
    a data dir every change is on disk before the answer starts (``on_start(status)`` first).

    A caller whose ``send`` already does that (see ``Answer``: one send wrapper per request
    instead of two) passes the ``answer`` its wrapper keeps."""

    def shape(status: int, message: str, part: str = "body") -> tuple[Any, dict]:
        if admin:
            return limits.detail_error(status, message, scope)
        return vendor_error(kernel, status, message, scope, part)

    try:
        if refused is not None:
            raise refused
        await limits.check_body(scope, raw)
    except BadInput as exc:
        if answer is not None:
            answer.flush = False  # the stack's own answer: the route changed nothing
        status = limits.detail_status(exc.status) if admin else exc.status
        await limits.send_json(send, status, *shape(status, exc.message, exc.part))
        return
    route_send = send
    if answer is None:
        answer = Answer()
        state = answer

        async def flushing(message: Message) -> None:
            if message["type"] == "http.response.start":
                state.begun = True
                starting(kernel, message["status"], on_start)
            await send(message)

        route_send = flushing
    try:
        await app(scope, limits.replay(raw, receive), route_send)
    except Exception as exc:
        if answer.begun:
            raise
        answer.flush = False  # as before the merge: the 500 itself flushes nothing
        message = limits.unexpected(exc, scope, kernel.service)
        await limits.send_json(send, 500, *shape(500, message))


class Answer:
    """Where a request's answer stands, shared by ``serve`` and a caller's send wrapper that
    does the flush itself: at ``http.response.start`` the wrapper sets ``begun`` and, while
    ``flush`` holds, calls ``starting``. ``serve`` clears ``flush`` before answering a refusal
    or an unexpected error itself (those never flushed)."""

    __slots__ = ("begun", "flush")

    def __init__(self) -> None:
        self.begun = False
        self.flush = True


def starting(kernel: Kernel, status: int, on_start: Callable[[int], None] | None = None) -> None:
    """What happens as an answer starts: ``on_start(status)``, then the durable flush."""
    if on_start is not None:
        on_start(status)
    kernel.flush()


async def admin_call(
    kernel: Kernel,
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    answer: Answer | None = None,
) -> None:
    """An admin call under the limits; a tenant it changed is written whole (``answer``: as
    for ``serve``; the caller's wrapper then calls ``admin_changed`` as ``on_start``)."""
    try:
        raw = await read(kernel, scope, receive)
        refused = None
    except BadInput as exc:
        raw, refused = b"", exc
    except ClientGone:
        return

    await serve(
        kernel,
        app,
        scope,
        receive,
        send,
        raw,
        refused,
        admin=True,
        on_start=functools.partial(admin_changed, kernel, scope),
        answer=answer,
    )


def admin_changed(kernel: Kernel, scope: Scope, status: int) -> None:
    """An admin call's answer starts: a tenant it changed is marked to be written whole."""
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


def _tenant_of(scope: Scope) -> str:
    from urllib.parse import parse_qs

    header = limits.header(scope, b"x-sandbox-tenant")
    if header:
        return header
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return query.get("tenant", ["default"])[0]
