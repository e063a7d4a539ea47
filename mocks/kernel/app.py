"""Build a fake's FastAPI app: vendor routes + the kernel's middleware and admin surface."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypedDict

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from careflow.clock import VirtualClock
from careflow.limits import json_safe

from .admin import build_admin_router
from .backend import Backend
from .core import Kernel
from .docs import offline_docs
from .lane import FastLane
from .middleware import ADMIN_PREFIX, SandboxMiddleware, received_path

# FastAPI (0.165+) asks OpenTelemetry for its global providers on every request (three lookups
# in os.environ each time: ~4% of a health check over a socket, issue 18). The fakes export no
# telemetry; turning it off with FastAPI's public setting skips the lookups. An older FastAPI
# has neither the setting nor the cost.
_NO_TELEMETRY: dict[str, Any] = (
    {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters
    else {}
)


class FakeOptions(TypedDict, total=False):
    """What every fake's ``create_app(**options)`` accepts (passed on to its ``Kernel``)."""

    clock: VirtualClock | None
    seed: int
    data_dir: str | Path | None
    allow_remote: bool
    http_client: httpx.AsyncClient | None
    journal_capacity: int | None  # entries the journal keeps (default: see kernel/journal.py)


def build_fake_app(
    kernel: Kernel,
    backend: Backend[Any],
    routers: Iterable[APIRouter] = (),
    *,
    title: str,
    path_aliases: tuple[tuple[str, str], ...] = (),
) -> FastAPI:
    """A fake vendor app. Vendor routes stay out of the generated OpenAPI, which documents only
    the ``/__sandbox/`` control plane (the vendor spec lives in ``contracts/``). A request to a
    ``path_aliases`` spelling (alias prefix, canonical prefix) is routed as the canonical one: the
    routes exist once, however many spellings the vendor answers."""
    kernel.attach(backend)
    backend.state()  # seed the default tenant now: the first request must not pay for it
    kernel.flush()  # with a data dir, the seeded tenant is on disk before any request

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await kernel.settle()
        kernel.save()

    app = FastAPI(
        title=f"{title} (careflow sandbox)",
        description=f"Sandbox control plane of the {title} fake: see DESIGN.md.",
        openapi_url=f"{ADMIN_PREFIX}/openapi.json",
        docs_url=None,  # served below from package assets: no CDN, works offline
        redoc_url=None,
        lifespan=lifespan,
        **_NO_TELEMETRY,
    )
    offline_docs(app, f"{ADMIN_PREFIX}/docs", f"{ADMIN_PREFIX}/openapi.json", app.title)
    app.state.kernel = kernel
    app.state.backend = backend
    for router in routers:  # vendor routes first: they are what a request is most often for
        app.include_router(router, include_in_schema=False)
    app.include_router(build_admin_router(kernel))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if request.url.path.startswith(ADMIN_PREFIX):
            return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)
        message = (
            f"No route for {request.method} {received_path(request.scope)}"
            if exc.status_code in (404, 405) and "route" not in request.scope
            else str(exc.detail)
        )
        body, headers = backend.error_body(exc.status_code, message, received_url(request))
        return JSONResponse(body, exc.status_code, headers={**headers, **(exc.headers or {})})

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": jsonable_encoder(json_safe(exc.errors()))}, 422)

    # innermost: the simple routes skip FastAPI's per-request machinery (mocks/kernel/lane.py)
    app.add_middleware(FastLane, router=app.router)
    app.add_middleware(SandboxMiddleware, kernel=kernel, path_aliases=path_aliases)
    return app


def received_url(request: Request) -> str:
    """``request.url`` as the client sent it (an alias spelling stays as sent)."""
    path = received_path(request.scope)
    return str(request.url if path == request.url.path else request.url.replace(path=path))
