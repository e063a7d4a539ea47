"""The Caspio fake as a FastAPI app: the Integration URL's ``/oauth/token`` and
``/integrations/rest/v3/...`` (and ``/rest/v2/...``), plus the sandbox admin additions."""

from __future__ import annotations

import json
import sqlite3
from typing import Unpack

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from mocks.kernel import FakeOptions, Kernel, build_fake_app

from .admin import build_admin_router
from .errors import CaspioError, SqlError
from .models import CaspioBackend
from .responses import build_router


def create_app(**options: Unpack[FakeOptions]) -> FastAPI:
    kernel = Kernel("caspio", **options)
    backend = CaspioBackend(kernel)
    app = build_fake_app(kernel, backend, [build_router(backend)], title="Caspio")
    app.include_router(build_admin_router(backend))

    @app.exception_handler(CaspioError)
    async def caspio_error(request: Request, exc: CaspioError) -> Response:
        return exc.response(str(request.url))

    kernel_http_error = app.exception_handlers[StarletteHTTPException]

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: Exception) -> Response:
        """The kernel's answer (404/405 for unknown routes) with [C] §6.1 ``Resource`` filled."""
        response = await kernel_http_error(request, exc)
        try:
            body = json.loads(bytes(response.body))
        except ValueError:
            return response
        if isinstance(body, dict) and body.get("Resource") == "":
            body["Resource"] = str(request.url)
            headers = {k: v for k, v in response.headers.items() if k != "content-length"}
            return JSONResponse(body, response.status_code, headers=headers)
        return response

    @app.exception_handler(sqlite3.Error)
    async def storage_error(request: Request, exc: sqlite3.Error) -> Response:
        """A safety net: a storage error the model did not map is still a vendor 400
        ([C] §6.2 SqlServerError, native SQL text), never a bare 500."""
        return SqlError(f"Query failed: {exc}").response(str(request.url))

    return app
