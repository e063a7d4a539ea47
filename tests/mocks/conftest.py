from collections.abc import Iterator

import httpx
import pytest

from careflow.mocks.kernel import VirtualClock
from careflow.mocks.whatconverts import create_app


@pytest.fixture
def frozen_clock() -> VirtualClock:
    return VirtualClock("2026-01-01T12:00:00Z", frozen=True)


@pytest.fixture
def wc_app(frozen_clock):
    return create_app(clock=frozen_clock, seed=7)


@pytest.fixture
def admin(wc_app) -> Iterator[httpx.Client]:
    """A sync client over the WhatConverts fake (any fake serves the same admin surface)."""
    from careflow.mocks.kernel.transports import BackgroundLoop, SyncASGITransport

    loop = BackgroundLoop()
    transport = SyncASGITransport(httpx.ASGITransport(app=wc_app), loop)
    with httpx.Client(transport=transport, base_url="http://127.0.0.1:8401") as client:
        yield client
    loop.close()
