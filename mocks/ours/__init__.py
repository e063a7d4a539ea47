"""The Ours Privacy fake.

``VENDOR`` describes it; ``create_app`` builds it (imported on first call).
"""

from __future__ import annotations

from typing import Any

from .vendor import VENDOR


def create_app(**options: Any) -> Any:
    """The fake's FastAPI app; ``options`` as ``careflow.mocks.kernel.FakeOptions``."""
    from .app import create_app as build

    return build(**options)


__all__ = ["VENDOR", "create_app"]
