"""The Caspio fake as a FastAPI app: the Integration URL's ``/oauth/token`` and
``/integrations/rest/v3/...`` (and ``/rest/v2/...``), plus the sandbox admin additions. Facts:
docs/vendors/caspio.md."""

from __future__ import annotations

import sqlite3
from typing import Unpack

from fastapi import FastAPI, Request
from fastapi.responses import Response

from careflow.mocks.kernel import FakeOptions, Kernel, build_fake_app, received_url

from .admin import build_admin_router
from .errors import CaspioError, SqlError
from .models import CaspioBackend
from .responses import build_router
from .state import sql_message
from .vendor import VENDOR


def create_app(**options: Unpack[FakeOptions]) -> FastAPI:
    kernel = Kernel("caspio", **options)
    backend = CaspioBackend(kernel)
    app = build_fake_app(
        kernel,
        backend,
        [build_router(backend)],
        title="Caspio",
        path_aliases=VENDOR.path_aliases,  # [C] caspio.md §1 /rest/v2: routed as v3
    )
    app.include_router(build_admin_router(backend))

    @app.exception_handler(CaspioError)
    async def caspio_error(request: Request, exc: CaspioError) -> Response:
        return exc.response(received_url(request))

    @app.exception_handler(sqlite3.Error)
    async def storage_error(request: Request, exc: sqlite3.Error) -> Response:
        """A safety net: a storage error the model did not map is still a vendor 400
        ([C] §6.2 SqlServerError, in SQL Server's words), never a bare 500."""
        return SqlError(sql_message(exc)).response(received_url(request))

    return app
