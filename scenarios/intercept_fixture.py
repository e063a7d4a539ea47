"""The pytest fixture ``careflow_intercept``: ``careflow.intercept`` for one test.

It yields the ``InterceptStack`` behind the test's in-process careflow fixtures — the very
stack ``careflow_stack``, ``whatconverts``, ``caspio``, ``ours`` and ``engine`` hand out, so
``whatconverts.fault(...)``, ``.verify(...)`` and ``.freeze()`` act on what the intercepted code
reaches — reset to the seeded state on a real-time clock, with the vendors' real hosts (and the
stack's own ``*.careflow.localhost`` URLs) answered in-process for the test's duration. A test
using it runs in-process whatever ``--careflow-mode`` says (interception answers in this
process); ``@pytest.mark.careflow(mode="server")`` with it is an error. The seed comes from
``@pytest.mark.careflow(seed=N)`` (default 0).

A request the interception refused (a host that is neither a vendor's nor loopback) fails the
test when its function returns, even if the code under test caught the error; so does a
request no fake could serve (a typo in a path), as for every careflow fixture.

Cheap to import (the plugin loads it in every pytest run): the stack is imported when the
fixture is first used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .handles import StackHandle
    from .intercept import InterceptStack


@pytest.fixture
def careflow_intercept(
    request: pytest.FixtureRequest, careflow_stack: StackHandle
) -> Iterator[InterceptStack]:
    """The vendors' real hosts answered by in-process fakes for this test (see the module)."""
    from .intercept import Intercept, InterceptStack
    from .pytest_plugin import add_check

    stack = careflow_stack.stack
    assert isinstance(stack, InterceptStack), "careflow_intercept runs in-process"

    def check() -> list[str]:
        if not stack.blocked:
            return []
        return [
            "careflow_intercept refused requests to hosts that are neither a vendor's nor "
            "loopback:\n" + "\n".join(f"  - {call}" for call in stack.blocked)
        ]

    add_check(request.node, check)
    with Intercept(stack=stack):
        yield stack
