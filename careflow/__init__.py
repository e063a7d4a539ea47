"""careflow-sandbox: faithful fake WhatConverts, Caspio and Ours Privacy servers, contract checks
and a Keragon-like workflow engine, for testing healthcare automations without real PHI.

The repository's top-level folders install under this one import root: ``careflow.mocks``
(the fakes and their registry ``careflow.mocks.VENDORS``), ``careflow.contracts``,
``careflow.engine`` and ``careflow.scenarios`` (the composition root). Public names here are
imported lazily, so ``import careflow`` costs nothing: ``intercept``, ``InProcessStack``,
``Stack``, ``VENDORS``, and for annotating tests the fixtures' ``ServiceHandle`` and
``StackHandle`` (``def test_x(ours: careflow.ServiceHandle)``) and ``SandboxError``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_WHERE = {
    "intercept": "careflow.scenarios.intercept",
    "InProcessStack": "careflow.scenarios.stack",
    "Stack": "careflow.scenarios.stack",
    "ServiceHandle": "careflow.scenarios.handles",
    "StackHandle": "careflow.scenarios.handles",
    "SandboxError": "careflow.scenarios.handles",
    "VENDORS": "careflow.mocks",
}
__all__ = [
    "VENDORS",
    "InProcessStack",
    "SandboxError",
    "ServiceHandle",
    "Stack",
    "StackHandle",
    "intercept",
]

if TYPE_CHECKING:  # what type checkers see; at run time each name is imported on first use
    from careflow.scenarios.handles import SandboxError, ServiceHandle, StackHandle
    from careflow.scenarios.intercept import intercept
    from careflow.scenarios.stack import InProcessStack, Stack


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'careflow' has no attribute {name!r}")
