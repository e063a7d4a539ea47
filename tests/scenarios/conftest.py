from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .cli_support import served_stack


@pytest.fixture(scope="session")
def stack_info() -> Iterator[dict[str, Any]]:
    """One served stack per worker for the CLI tests that need a running stack (``info``,
    ``trigger``, ``doctor``, ``caspio orphans``, ``contract check --url``)."""
    with served_stack() as info:
        yield info
