"""An Ours Privacy tenant on disk with ``--data-dir`` (the kernel's durable.py does the writing).

Entities: one per source (by id), visitor (``mode/id``), event (by id), idempotency key of
``seen`` and dispatch (by id); the configuration (``allowed_events``, ``data_governance``,
``destinations``), ``counter`` and ``demo_source`` are one entity each. Each is stored as
``OursBackend.dump_state`` shows it, so a tenant comes back through ``load_state``.
"""

from __future__ import annotations

from typing import Any

from careflow.mocks.kernel.durable import WHOLE, Entity

from .state import OursState

COLLECTIONS = ("sources", "visitors", "events", "seen", "dispatches")
WHOLES = ("allowed_events", "data_governance", "destinations", "counter", "demo_source")


def entities(state: OursState, dump: dict[str, Any]) -> list[Entity]:
    out: list[Entity] = [(name, WHOLE, dump[name]) for name in WHOLES]
    out += [("sources", s["id"], s) for s in dump["sources"]]
    out += [("visitors", f"{v['mode']}/{v['id']}", v) for v in dump["visitors"]]
    out += [("events", e["id"], e) for e in dump["events"]]
    out += [("seen", tuple(k), list(k)) for k in dump["seen"]]
    out += [("dispatches", d["id"], d) for d in dump["dispatches"]]
    return out


def document(stored: list[Entity]) -> dict[str, Any]:
    """The ``dump_state`` document of stored entities (collections in the order stored)."""
    data: dict[str, Any] = {name: [] for name in COLLECTIONS}
    for section, key, value in stored:
        if key is WHOLE:
            data[section] = value
        else:
            data[section].append(value)
    return data


def entity_value(state: OursState, section: str, key: Any) -> tuple[bool, Any]:
    with state.lock:
        if section == "sources":
            source = state.sources.get(key)
            # its fields as they are (``Source(**value)`` loads it); dataclasses.asdict's deep
            # copy costs more than the rest of a track
            return source is not None, dict(vars(source)) if source is not None else None
        if section == "visitors":
            mode, _, vid = key.partition("/")
            visitor = state.visitors.get(mode, {}).get(vid)
            return visitor is not None, visitor.as_dict() if visitor is not None else None
        if section == "events":
            event = state.events_by_id.get(key)
            return event is not None, event
        if section == "seen":
            return tuple(key) in state.seen, list(key)
        if section == "dispatches":
            found = next((d for d in reversed(state.dispatches) if d["id"] == key), None)
            return found is not None, found
        if section == "allowed_events":
            return True, [a.as_dict() for a in state.allowed_events]
        if section == "data_governance":
            return True, [g.as_dict() for g in state.governance]
        if section == "destinations":
            return True, [d.as_dict() for d in state.destinations.values()]
        return True, getattr(state, section)
