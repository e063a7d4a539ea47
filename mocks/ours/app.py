"""The Ours Privacy fake as a FastAPI app."""

from __future__ import annotations

from typing import Unpack

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from careflow.mocks.kernel import FakeOptions, Kernel, build_fake_app

from .admin import build_admin_router
from .errors import IngestError
from .models import OursBackend
from .pipeline import Pipeline
from .responses import Ingest, build_ingest_router


def create_app(**options: Unpack[FakeOptions]) -> FastAPI:
    kernel = Kernel("ours", **options)
    backend = OursBackend(kernel)
    pipeline = Pipeline(kernel, backend)
    app = build_fake_app(
        kernel, backend, [build_ingest_router(Ingest(backend, pipeline))], title="Ours Privacy"
    )
    app.include_router(build_admin_router(backend))
    app.state.pipeline = pipeline

    @app.exception_handler(IngestError)
    async def ingest_error(_request: Request, exc: IngestError) -> JSONResponse:
        return exc.response()

    return app
