"""The WhatConverts fake as a FastAPI app."""

from __future__ import annotations

from typing import Unpack

from fastapi import FastAPI

from mocks.kernel import FakeOptions, Kernel, build_fake_app

from .models import WhatConvertsBackend


def create_app(**options: Unpack[FakeOptions]) -> FastAPI:
    kernel = Kernel("whatconverts", **options)
    return build_fake_app(kernel, WhatConvertsBackend(kernel), [], title="WhatConverts")
