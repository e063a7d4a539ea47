"""The composition root: the stack, scenarios, the ``careflow`` CLI and the pytest plugin.

Public names are imported lazily: the pytest plugin (``careflow.scenarios.pytest_plugin``) is
loaded into every pytest run, and must not pay for FastAPI and the apps unless a test uses them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_WHERE = {
    "InProcessStack": ".stack",
    "Stack": ".stack",
    "fakes": ".stack",
    "services": ".stack",
}
__all__ = ["InProcessStack", "Stack", "fakes", "services"]

if TYPE_CHECKING:
    from .stack import InProcessStack, Stack, fakes, services


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
