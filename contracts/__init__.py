"""OpenAPI specs of the three vendors and the contract harness built on schemathesis.

Public surface: ``assert_conforms`` (check a response against a vendor's spec in your own
tests), ``check_spec`` / ``run_cases`` / ``record`` / ``verify`` (what ``careflow contract``
runs), ``DriftReport`` and ``STANDARD_CHECKS``. Imported lazily: schemathesis loads only when a
check runs, so ``careflow up`` starts as fast as before.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_WHERE = {
    "run_cases": "cases",
    "STANDARD_CHECKS": "check",
    "check_spec": "check",
    "ConformanceError": "conformance",
    "assert_conforms": "conformance",
    "record": "recordings",
    "verify": "recordings",
    "DriftReport": "report",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module 'contracts' has no attribute {name!r}")
