"""The WhatConverts fake as a FastAPI app."""

from __future__ import annotations

from typing import Unpack

from fastapi import FastAPI

from mocks.kernel import FakeOptions, Kernel, build_fake_app

from .admin import build_admin_router
from .inflight import InFlightMiddleware
from .models import WhatConvertsBackend
from .responses import PREFIX, build_router


def create_app(**options: Unpack[FakeOptions]) -> FastAPI:
    kernel = Kernel("whatconverts", **options)
    backend = WhatConvertsBackend(kernel)
    app = build_fake_app(kernel, backend, [build_router(backend)], title="WhatConverts")
    app.include_router(build_admin_router(backend))
    # outside the kernel's middleware: a request is in flight while a latency fault holds it too
    app.add_middleware(InFlightMiddleware, backend=backend, prefix=PREFIX)
    return app
