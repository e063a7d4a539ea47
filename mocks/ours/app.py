"""The Ours Privacy fake as a FastAPI app."""

from __future__ import annotations

from typing import Unpack

from fastapi import FastAPI

from mocks.kernel import FakeOptions, Kernel, build_fake_app

from .models import OursBackend


def create_app(**options: Unpack[FakeOptions]) -> FastAPI:
    kernel = Kernel("ours", **options)
    return build_fake_app(kernel, OursBackend(kernel), [], title="Ours Privacy")
