"""The WhatConverts fake as a FastAPI app (facts: docs/vendors/whatconverts.md)."""

from __future__ import annotations

from typing import Unpack

from fastapi import FastAPI, Request, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from careflow.mocks.kernel import FakeOptions, Kernel, build_fake_app

from .admin import build_admin_router
from .inflight import InFlightMiddleware
from .models import WhatConvertsBackend
from .responses import PREFIX, build_links_router, build_router


def create_app(**options: Unpack[FakeOptions]) -> FastAPI:
    kernel = Kernel("whatconverts", **options)
    backend = WhatConvertsBackend(kernel)
    app = build_fake_app(
        kernel,
        backend,
        [build_router(backend), build_links_router(backend)],
        title="WhatConverts",
    )
    app.include_router(build_admin_router(backend))
    kernel_errors = app.exception_handlers[StarletteHTTPException]

    async def not_a_route(request: Request, exc: Exception) -> Response:
        """[C] §5 leads have no delete (nor any other method than the documented ones), and
        [O] §1 the vendor's router answers 404 for what is not an API route: no 405 here."""
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 405 and request.url.path.startswith(PREFIX):
            request.scope.pop("route", None)
            exc = StarletteHTTPException(404)
        return await kernel_errors(request, exc)

    app.add_exception_handler(StarletteHTTPException, not_a_route)
    # outside the kernel's middleware: a request is in flight while a latency fault holds it too
    app.add_middleware(InFlightMiddleware, backend=backend, prefix=PREFIX)
    return app
