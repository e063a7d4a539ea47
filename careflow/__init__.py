"""careflow-sandbox: faithful fake WhatConverts, Caspio and Ours Privacy servers, contract checks
and a Keragon-like workflow engine, for testing healthcare automations without real PHI.

The repository's top-level folders install under this one import root: ``careflow.mocks``
(the fakes and their registry ``careflow.mocks.VENDORS``), ``careflow.contracts``,
``careflow.engine`` and ``careflow.scenarios`` (the composition root). Public names here are
imported lazily, so ``import careflow`` costs nothing.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_WHERE = {
    "intercept": "careflow.scenarios.intercept",
    "InProcessStack": "careflow.scenarios.stack",
    "Stack": "careflow.scenarios.stack",
    "VENDORS": "careflow.mocks",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'careflow' has no attribute {name!r}")
