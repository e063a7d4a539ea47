"""Mount the dashboard on the engine's app (``/ui/``), or serve it on its own against a URL."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from . import admin_pages, engine_pages, overview, vendor_pages
from .reader import InfoSource, NotFoundError, ServiceError, StackReader
from .web import PREFIX, Dashboard, same_origin

PAGES = (overview, vendor_pages, engine_pages, admin_pages)


async def refuse_cross_site_posts(request: Request) -> None:
    if request.method == "POST" and not same_origin(request):
        raise HTTPException(403, "cross-site form post refused: post from a dashboard page")


def build_router() -> APIRouter:
    router = APIRouter(
        prefix=PREFIX, include_in_schema=False, dependencies=[Depends(refuse_cross_site_posts)]
    )
    for module in PAGES:
        module.register(router)
    return router


def _install(
    app: FastAPI, reader: StackReader, *, redirect_root: bool, docs_openapi: str | None
) -> Dashboard:
    board = Dashboard(reader)
    app.state.dashboard = board
    app.include_router(build_router())
    app.mount(
        f"{PREFIX}/static",
        StaticFiles(packages=[("careflow.scenarios.dashboard", "static")]),
        name="dashboard-static",
    )

    async def service_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ServiceError)
        status = 404 if isinstance(exc, NotFoundError) else 502
        title = "Not found" if status == 404 else "Service error"
        return board.render(request, "error.html", http_status=status, error=exc, title=title)

    app.add_exception_handler(ServiceError, service_error)

    if redirect_root:

        @app.get("/", include_in_schema=False)
        async def root() -> Response:
            return RedirectResponse(f"{PREFIX}/", status_code=307)

    @app.get(PREFIX, include_in_schema=False)
    async def bare() -> Response:
        return RedirectResponse(f"{PREFIX}/", status_code=307)

    if docs_openapi:
        from careflow.mocks.kernel.docs import offline_docs

        offline_docs(app, f"{PREFIX}/api-docs", docs_openapi, "careflow engine API")
    return board


def mount_dashboard(
    engine_app: FastAPI,
    info: InfoSource,
    client: Callable[[], httpx.AsyncClient],
) -> Dashboard:
    """Serve the dashboard at ``/ui/`` on the engine's app, and redirect ``GET /`` there.

    ``info`` is the stack info (or a callable returning it); ``client`` returns the stack's
    ``httpx.AsyncClient`` (in-process stacks route by URL, served ones use loopback HTTP). The
    dashboard reads the stack only through those URLs."""
    reader = StackReader(client, info=info)
    return _install(engine_app, reader, redirect_root=True, docs_openapi=engine_app.openapi_url)


def create_app(engine_url: str, client: httpx.AsyncClient | None = None) -> FastAPI:
    """The dashboard on its own, for a stack elsewhere (it reads ``/__sandbox/stack``)."""
    http = client or httpx.AsyncClient(timeout=30)
    app = FastAPI(title="careflow dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    _install(
        app, StackReader(lambda: http, engine_url=engine_url), redirect_root=True, docs_openapi=None
    )
    return app
