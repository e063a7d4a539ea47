"""Requests in flight per API key, counted for a request's whole life (whatconverts.md §3: "up
to 20 concurrent requests").

An ASGI middleware placed outside the kernel's, so the time a request spends in an injected
latency fault counts too. It only counts: the handler refuses a request whose place among its
key's requests in flight is past the limit (``WhatConvertsBackend.admit``), so the refusal is
journaled and answered like every other vendor error.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import WCError
from .models import WhatConvertsBackend

SLOT = "wc_slot"  # request.state key: this request's place among its key's requests in flight
CALLER = "wc_caller"  # request.state key: (Authorization header, authenticate()'s answer)


class InFlightMiddleware:
    def __init__(self, app: ASGIApp, backend: WhatConvertsBackend, prefix: str) -> None:
        self.app = app
        self.backend = backend
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        header = next((v for k, v in scope.get("headers", []) if k == b"authorization"), None)
        text = header.decode("latin-1") if header else None
        try:
            caller = self.backend.authenticate(text)
        except WCError:  # the handler answers 401; an unknown caller holds no slot
            await self.app(scope, receive, send)
            return
        _tenant, state, key = caller
        request_state = scope.setdefault("state", {})
        request_state[SLOT] = self.backend.occupy(state, key)
        request_state[CALLER] = (text, caller)  # the handler authenticates no second time
        try:
            await self.app(scope, receive, send)
        finally:
            self.backend.release(state, key)
