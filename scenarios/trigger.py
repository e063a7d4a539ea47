"""``careflow trigger``: fire one vendor event at a running stack, as ``stripe trigger`` does.

The events are those the vendor step modules register (``careflow.scenarios.steps.TRIGGERS``,
``<vendor>.<event>``); each sends its vendor's real API call with synthetic data, under a fresh
correlation id that the timeline (``{engine}/ui/timeline/{id}``) follows.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

__all__ = ["fire", "parse_overrides", "registry", "timeline_url"]


def registry() -> dict[str, Any]:
    """Every registered trigger by name (loads the step modules)."""
    from . import steps

    steps.load()
    return dict(sorted(steps.TRIGGERS.items()))


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs; a value that reads as JSON (``3``, ``true``, ``"x"``) is taken as
    such, anything else as text."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--field takes KEY=VALUE, not {pair!r}")
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        out[key.strip()] = value
    return out


def timeline_url(info: dict[str, Any], correlation_id: str) -> str:
    return f"{info['engine']['url']}/ui/timeline/{correlation_id}"


def fire(info: dict[str, Any], name: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """Send trigger ``name`` to the stack ``info`` describes; wait until the stack is quiet
    (webhooks delivered, the runs they start finished) and say what was made."""
    import httpx

    from .driver import StackDriver
    from .steps import StepContext

    found = registry()
    if name not in found:
        raise KeyError(name)
    cid = f"trg-{secrets.token_hex(4)}"
    with httpx.Client(timeout=30) as client:
        driver = StackDriver(info, client)
        context = StepContext(
            driver, {"stack": info, "workflows": {}, "saved": {}, "leads": {}}, cid=cid
        )
        made = found[name].run(context, dict(overrides))
        driver.settle()
    return {
        "event": name,
        "correlation_id": cid,
        "timeline_url": timeline_url(info, cid),
        "result": made,
    }
