"""The Ours Privacy backend: the facade the HTTP layer, the pipeline and the admin routes use.
It keeps the kernel's hooks (seed, export/import) and hands each rule to the part that owns it,
moto-style.

Each rule is written once, citing docs/vendors/ours-privacy.md (``§n``) with its status:
``[C]`` confirmed, ``[I]``/``[?]`` a choice the fake makes (documented in mocks/ours/openapi.yaml):

- state.py: the per-tenant state (sources, visitors, events, configuration, dispatches);
- config.py: destinations, the allow-list and data governance;
- sources.py: sources and their live and test keys;
- visitors.py: identity resolution and visitor properties;
- events.py: recording accepted events.

Body validation lives in validation.py; the HTTP layer (responses.py) only translates; the
pipeline (pipeline.py) runs after a request has been answered, as the real one does. The state
classes live in state.py so the parts never import this facade; they are re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from careflow.mocks.kernel import Backend, Synthetic, format_instant
from careflow.mocks.kernel.durable import Entity

from . import config, storage
from .events import Events
from .sources import Sources
from .state import (
    SOURCE_TYPES,
    AllowedEvent,
    ConfigChange,
    GovernanceCategory,
    OursState,
    Source,
    Visitor,
    derive_test_token,
)
from .validation import TrackInput
from .visitors import LOOKUP_KEYS, apply_user_properties, index_visitor

__all__ = [
    "LOOKUP_KEYS",
    "SOURCE_TYPES",
    "AllowedEvent",
    "ConfigChange",
    "GovernanceCategory",
    "OursBackend",
    "OursState",
    "Source",
    "Visitor",
    "apply_user_properties",
    "derive_test_token",
]


class OursBackend(Backend[OursState]):
    service = "ours"
    # PHI the Ingest API carries beyond the kernel's defaults (masked in the journal).
    phi_fields = frozenset({"externalId", "external_id", "userId", "zip", "ip", "em", "ph"})
    seed_keys = frozenset(
        {"synthetic", "sources", "visitors", "destinations", "allowed_events", "data_governance"}
    )
    synthetic_keys = frozenset({"visitors"})

    def __init__(self, kernel: Any) -> None:
        super().__init__(kernel)
        self.sources = Sources(self)
        self.events = Events(self)

    # --- Backend hooks ------------------------------------------------------------------------
    def new_state(self, tenant: str, synthetic: Synthetic) -> OursState:
        from .seed import seed_demo

        state = OursState()
        seed_demo(state, synthetic, format_instant(self.kernel.clock.now()))
        self._reindex(state)
        return state

    def dump_state(self, state: OursState) -> dict[str, Any]:
        with state.lock:
            return {
                "sources": [asdict(s) for s in state.sources.values()],
                "visitors": [v.as_dict() for m in state.visitors.values() for v in m.values()],
                "events": [dict(e) for e in state.events],
                "seen": sorted(list(k) for k in state.seen),
                "allowed_events": [a.as_dict() for a in state.allowed_events],
                "data_governance": [g.as_dict() for g in state.governance],
                "destinations": [d.as_dict() for d in state.destinations.values()],
                "dispatches": [dict(d) for d in state.dispatches],
                "counter": state.counter,
                "demo_source": state.demo_source,
            }

    def load_state(self, tenant: str, data: dict[str, Any]) -> OursState:
        state = OursState(counter=int(data.get("counter", 0)))
        state.demo_source = data.get("demo_source", state.demo_source)
        for raw in data.get("sources", []):
            source = Source(**raw)
            state.sources[source.id] = source
        for raw in data.get("visitors", []):
            visitor = Visitor(**raw)
            state.visitors.setdefault(visitor.mode, {})[visitor.id] = visitor
        state.events = [dict(e) for e in data.get("events", [])]
        state.seen = {tuple(k) for k in data.get("seen", [])}  # type: ignore[misc]
        config.configure(state, data)
        state.dispatches = [dict(d) for d in data.get("dispatches", [])]
        self._reindex(state)
        return state

    def entities(self, state: OursState) -> list[Entity]:
        return storage.entities(state, self.dump_state(state))

    def assemble(self, tenant: str, entities: Iterable[Entity]) -> OursState:
        return self.load_state(tenant, storage.document(list(entities)))

    def entity_value(self, state: OursState, section: str, key: Any) -> tuple[bool, Any]:
        return storage.entity_value(state, section, key)

    def seed_state(self, tenant: str, state: OursState, body: dict[str, Any]) -> dict[str, Any]:
        from .seed import seed_body

        return seed_body(self, tenant, state, body)

    def credentials_of(self, state: OursState) -> dict[str, Any]:
        source = state.sources[state.demo_source]
        return {"token": source.token, "test_token": source.test_token}

    def credential_keys(self, state: OursState) -> list[str]:
        return list(state.by_token)

    def error_body(
        self, status: int, message: str, resource: str = ""
    ) -> tuple[Any, dict[str, str]]:
        # Ingest API errors: {"success": false} (vendor facts §6); we add a readable "error".
        return {"success": False, "error": message}, {}

    def input_error(
        self, status: int, message: str, resource: str = "", part: str = "body"
    ) -> tuple[Any, dict[str, str]]:
        body, headers = self.error_body(status, message, resource)
        if status == 413:
            body["limit"] = self.body_limit  # [C] §5 a 413 carries a numeric "limit"
        return body, headers

    # --- the parts, under the names the HTTP layer, the pipeline and the admin routes call -------
    def configure(
        self, state: OursState, data: dict[str, Any], *, merge: bool = False
    ) -> dict[str, Any]:
        """Validate everything in ``data``, then apply it: all or nothing."""
        added = config.configure(state, data, merge=merge)
        for section in ("allowed_events", "data_governance", "destinations"):
            self.changed(state, section)
        return added

    def allowed(self, state: OursState, name: str) -> AllowedEvent | None:
        return config.allowed(state, name)

    def create_source(self, tenant: str, state: OursState, data: dict[str, Any]) -> Source:
        return self.source_changed(state, self.sources.create(tenant, state, data))

    def update_source(self, state: OursState, source: Source, data: dict[str, Any]) -> Source:
        return self.source_changed(state, self.sources.update(state, source, data))

    def rotate_source(self, tenant: str, state: OursState, source: Source) -> Source:
        return self.source_changed(state, self.sources.rotate(tenant, state, source))

    def source_changed(self, state: OursState, source: Source) -> Source:
        self.changed(state, "sources", source.id)
        self.changed(state, "counter")
        return source

    def resolve_token(self, state: OursState, token: str) -> tuple[Source, str] | None:
        return self.sources.resolve(state, token)

    def ingest(
        self, state: OursState, source: Source, mode: str, row: TrackInput, stamp: str = ""
    ) -> dict[str, Any] | None:
        event = self.events.ingest(state, source, mode, row, stamp)
        if event is not None and self.durable is not None:  # storage.py: what it changed
            self.changed(state, "events", event["id"])
            self.changed(state, "visitors", f"{mode}/{event['visitor_id']}")
            self.changed(state, "seen", (source.id, mode, event["distinct_id"]))
            self.changed(state, "sources", source.id)
            self.changed(state, "counter")
        return event

    def _reindex(self, state: OursState) -> None:
        """Rebuild the lookups of ``state`` (token → source, identifiers → visitor, event ids)."""
        state.by_token.clear()
        for source in state.sources.values():
            state.by_token[source.token] = (source.id, "live")
            state.by_token[source.test_token] = (source.id, "test")
        state.index.clear()
        for store in state.visitors.values():
            for visitor in store.values():
                index_visitor(state, visitor)
        state.events_by_id = {e["id"]: e for e in state.events}
