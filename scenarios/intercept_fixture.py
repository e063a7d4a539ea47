"""The pytest fixture ``careflow_intercept``: ``careflow.intercept`` for one test.

It yields the same ``InterceptStack`` as ``with intercept() as stack:`` (one per seed for the
session, reset to the seeded state and a real-time clock before each test), with the vendors'
real hosts routed to it for the test's duration. A request the interception refused (a host
that is neither a vendor's nor loopback) fails the test, even if the code under test caught the
error. The seed comes from ``@pytest.mark.careflow(seed=N)`` (default 0).

Cheap to import (the plugin loads it in every pytest run): the stack is imported when the
fixture is first used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .intercept import InterceptStack


@pytest.fixture(scope="session")
def _careflow_intercept_stacks() -> Iterator[dict[int, InterceptStack]]:
    stacks: dict[int, InterceptStack] = {}
    yield stacks
    for stack in stacks.values():
        stack.close()


@pytest.fixture
def careflow_intercept(
    request: pytest.FixtureRequest, _careflow_intercept_stacks: dict[int, InterceptStack]
) -> Iterator[InterceptStack]:
    """The vendors' real hosts answered by in-process fakes for this test (see the module)."""
    from .intercept import Intercept, InterceptStack

    marker = request.node.get_closest_marker("careflow")
    seed = int(marker.kwargs.get("seed", 0)) if marker else 0
    stack = _careflow_intercept_stacks.get(seed)
    if stack is None:
        stack = _careflow_intercept_stacks[seed] = InterceptStack(seed=seed)
    stack.reset()
    with Intercept(stack=stack):
        yield stack
    if stack.blocked:
        pytest.fail(
            "careflow_intercept refused requests to hosts that are neither a vendor's nor "
            "loopback:\n" + "\n".join(f"  - {call}" for call in stack.blocked),
            pytrace=False,
        )
