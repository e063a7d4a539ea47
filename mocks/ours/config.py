"""Configuration: destinations, the event allow-list and data governance ([C] ours-privacy.md
§9). A document is checked whole before any of it is applied."""

from __future__ import annotations

from typing import Any

from .destinations import Destination
from .state import AllowedEvent, ConfigChange, GovernanceCategory, OursState
from .validation import IDENTIFY


def parse_config(state: OursState, data: dict[str, Any]) -> ConfigChange:
    """Parse and check a configuration document; changes nothing (bad input is refused
    whole, before anything is applied)."""
    destinations = [Destination.parse(raw) for raw in data.get("destinations", [])]
    known = set(state.destinations) | {d.id for d in destinations}
    allowed: list[AllowedEvent] | None = None
    if "allowed_events" in data:
        allowed = [
            AllowedEvent(str(a["name"]), list(a.get("destinationIds", [])))
            for a in data["allowed_events"]
        ]
        for entry in allowed:
            # [C] §9 system events start with "$"; only $identify may be allow-listed.
            # Names match case-insensitively, this check as much as the allow-list itself.
            if entry.name.startswith("$") and entry.name.casefold() != IDENTIFY.casefold():
                raise ValueError(f"only {IDENTIFY} may be allow-listed, not {entry.name!r}")
            missing = [d for d in entry.destination_ids if d not in known]
            if missing:
                raise ValueError(f"allowed event {entry.name!r}: no destinations {missing}")
    governance: list[GovernanceCategory] | None = None
    if "data_governance" in data:
        governance = [
            GovernanceCategory(str(g["name"]), dict(g["logic"]), list(g["destinationIds"]))
            for g in data["data_governance"] or []
        ]
    return ConfigChange(destinations, allowed, governance)


def apply_config(state: OursState, change: ConfigChange, *, merge: bool = False) -> dict[str, Any]:
    added: dict[str, Any] = {}
    for destination in change.destinations:
        state.destinations[destination.id] = destination
        added.setdefault("destinations", []).append(destination.id)
    if change.allowed_events is not None:
        entries = change.allowed_events
        if merge:
            names = {e.name.casefold() for e in entries}
            state.allowed_events = [
                a for a in state.allowed_events if a.name.casefold() not in names
            ] + entries
        else:
            state.allowed_events = entries
        added["allowed_events"] = [e.name for e in entries]
    if change.governance is not None:
        state.governance = change.governance
        added["data_governance"] = len(state.governance)
    return added


def configure(state: OursState, data: dict[str, Any], *, merge: bool = False) -> dict[str, Any]:
    """Validate everything in ``data``, then apply it: all or nothing."""
    return apply_config(state, parse_config(state, data), merge=merge)


def allowed(state: OursState, name: str) -> AllowedEvent | None:
    """[C] §9 event names are matched case-insensitively."""
    folded = name.casefold()
    return next((a for a in state.allowed_events if a.name.casefold() == folded), None)
