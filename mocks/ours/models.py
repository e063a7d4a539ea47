"""Ours Privacy state and rules: sources and keys, visitors, events (Recent Events).

Each rule is written once, citing /work/shared/vendors/ours-privacy.md (``§n``) with its status:
``[C]`` confirmed, ``[I]``/``[?]`` a choice the fake makes (documented in contracts/ours.yaml).
Body validation lives in validation.py; the HTTP layer (responses.py) only translates; the
pipeline (pipeline.py) runs after a request has been answered, as the real one does.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from careflow.mocks.kernel import Backend, Synthetic, correlation_id, format_instant
from careflow.mocks.kernel.synthetic import SANDBOX_MARK

from .destinations import Destination
from .validation import IDENTIFY, TrackInput

SOURCE_TYPES = ("HTTPApiSource", "Webhook")  # [C] §1 ingest source type enum (subset)


def derive_test_token(token: str) -> str:
    """[C] §7 the test-mode token is "derived from token"; [?] how: the fake hashes it, so a
    rotation of the live key rotates the test key too."""
    digest = hashlib.sha256(f"ours-test-mode:{token}".encode()).hexdigest()
    return f"{SANDBOX_MARK}_test_{digest[:55]}"


@dataclass
class Source:
    id: str
    name: str
    token: str
    type: str = "HTTPApiSource"
    status: str = "Active"  # Active | Disabled
    is_published: bool = True  # [C] §8 "a source that is not published will not accept events"
    rotations: int = 0
    created_at: str = ""
    last_triggered_at: str | None = None
    last_dispatched_at: str | None = None  # [C] §11 lastTriggeredAt / lastDispatchedAt
    # Webhook sources: where Ours fields come from in the posted body (dotted paths). [C] §11
    field_map: dict[str, str] = field(default_factory=dict)

    @property
    def test_token(self) -> str:
        return derive_test_token(self.token)

    @property
    def accepts_events(self) -> bool:
        return self.status == "Active" and self.is_published

    def tokens(self, base_url: str = "") -> dict[str, Any]:
        """[C] §7 ``GET /rest/v1/sources/{id}/tokens``: token + testToken (+ webhook URLs)."""
        out: dict[str, Any] = {"token": self.token, "testToken": self.test_token}
        if self.type == "Webhook":
            out["ingestUrl"] = f"{base_url}/api/v1/webhooks/{self.token}"
            out["testIngestUrl"] = f"{base_url}/api/v1/webhooks/{self.test_token}"
            out["sampleCurl"] = (
                f"curl -X POST '{out['ingestUrl']}' -H 'Content-Type: application/json' "
                '-d \'{"event": "lead_created", "email": "jane.doe@example.com"}\''
            )
        else:
            out["sampleCurl"] = (
                f"curl -X POST '{base_url}/api/v1/track' -H 'Content-Type: application/json' "
                f'-d \'{{"token": "{self.token}", "event": "lead_created", '
                '"email": "jane.doe@example.com"}\''
            )
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "status": self.status,
            "isPublished": self.is_published,
            "rotations": self.rotations,
            "createdAt": self.created_at,
            "lastTriggeredAt": self.last_triggered_at,
            "lastDispatchedAt": self.last_dispatched_at,
            "fieldMap": dict(self.field_map),
        }


@dataclass
class Visitor:
    id: str
    mode: str
    created_at: str
    properties: dict[str, Any] = field(default_factory=dict)
    custom_properties: dict[str, Any] = field(default_factory=dict)

    def view(self) -> dict[str, Any]:
        """What templates and governance see as ``visitor``. [C] §9 variables visitor.*"""
        return {
            **self.properties,
            "id": self.id,
            "custom_properties": dict(self.custom_properties),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "mode": self.mode,
            "created_at": self.created_at,
            "properties": dict(self.properties),
            "custom_properties": dict(self.custom_properties),
        }


@dataclass
class AllowedEvent:
    """[C] §9 an allow-listed event: matched case-insensitively, with its destinationIds."""

    name: str
    destination_ids: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "destinationIds": list(self.destination_ids)}


@dataclass
class GovernanceCategory:
    """[C] §9 data governance: when ``logic`` is true, dispatch to ``destination_ids`` stops."""

    name: str
    logic: dict[str, Any]
    destination_ids: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "logic": self.logic, "destinationIds": self.destination_ids}


@dataclass
class ConfigChange:
    """A checked configuration document, ready to apply (None: that part is left as it is)."""

    destinations: list[Destination]
    allowed_events: list[AllowedEvent] | None
    governance: list[GovernanceCategory] | None


@dataclass
class OursState:
    sources: dict[str, Source] = field(default_factory=dict)
    visitors: dict[str, dict[str, Visitor]] = field(
        default_factory=lambda: {"live": {}, "test": {}}
    )
    events: list[dict[str, Any]] = field(default_factory=list)
    seen: set[tuple[str, str, str]] = field(default_factory=set)  # (source, mode, distinctId)
    allowed_events: list[AllowedEvent] = field(default_factory=list)
    governance: list[GovernanceCategory] = field(default_factory=list)
    destinations: dict[str, Destination] = field(default_factory=dict)
    dispatches: list[dict[str, Any]] = field(default_factory=list)
    counter: int = 0
    demo_source: str = "src_demo"
    # lookups, rebuilt on load: token → (source id, mode); (mode, kind, value) → visitor id
    by_token: dict[str, tuple[str, str]] = field(default_factory=dict)
    index: dict[tuple[str, str, str], str] = field(default_factory=dict)
    events_by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}_{self.counter:06d}"


# --- visitor properties ------------------------------------------------------------------------
LOOKUP_KEYS = ("external_id", "email", "phone_number")  # [C] §3 externalId → email → phone


def apply_user_properties(visitor: Visitor, props: dict[str, Any]) -> None:
    """[C] §3 null/empty semantics: a value sets, null clears, "" and omitted keep;
    ``custom_properties`` merge (null and "" entries ignored, other keys kept)."""
    for key, value in props.items():
        if isinstance(value, str):
            value = value.strip()
        if key == "custom_properties":
            # [?] custom_properties: null is ignored (merge semantics never remove keys).
            if isinstance(value, dict):
                for ckey, cvalue in value.items():
                    if cvalue is None or cvalue == "":
                        continue
                    visitor.custom_properties[ckey] = cvalue
            continue
        if value is None:
            visitor.properties.pop(key, None)
        elif value == "":
            continue
        else:
            visitor.properties[key] = value


def _norm(kind: str, value: Any) -> str:
    text = str(value).strip()
    if kind == "email":
        return text.lower()
    if kind == "phone_number":  # [I] digits only; a leading US country code 1 is dropped
        digits = "".join(ch for ch in text if ch.isdigit())
        return digits[1:] if len(digits) == 11 and digits.startswith("1") else digits
    return text


def _generated_id(state: OursState, source_id: str, mode: str) -> str:
    serial = state.next_id("distinct")
    digest = hashlib.sha256(f"ours-distinct:{source_id}:{mode}:{serial}".encode()).hexdigest()
    return f"ours_evt_{digest[:24]}"


class OursBackend(Backend[OursState]):
    service = "ours"
    # PHI the Ingest API carries beyond the kernel's defaults (masked in the journal).
    phi_fields = frozenset({"externalId", "external_id", "userId", "zip", "ip", "em", "ph"})
    seed_keys = frozenset(
        {"synthetic", "sources", "visitors", "destinations", "allowed_events", "data_governance"}
    )
    synthetic_keys = frozenset({"visitors"})

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
        self._configure(state, data)
        state.dispatches = [dict(d) for d in data.get("dispatches", [])]
        self._reindex(state)
        return state

    def seed_state(self, tenant: str, state: OursState, body: dict[str, Any]) -> dict[str, Any]:
        """Seed body: ``sources``, ``allowed_events``, ``destinations``, ``data_governance``,
        ``visitors`` (objects with properties) or ``{"synthetic": {"visitors": n}}``."""
        with state.lock:
            # validate the whole document first: a refused seed changes nothing
            change = self._parse_config(state, body)
            sources = list(body.get("sources", []))
            ids: set[str] = set()
            tokens: set[str] = set()
            for source in sources:
                self._check_source(state, source, ids, tokens)
            people = list(body.get("visitors", []))
            if not all(isinstance(p, dict) for p in people):
                raise ValueError("visitors must be objects of visitor properties")
            count = int(body.get("synthetic", {}).get("visitors", 0))
            if count < 0:
                raise ValueError("synthetic.visitors must be >= 0")
            added = self._apply_config(state, change, merge=True)
            synthetic = self.synthetic_for(tenant).for_(f"seed-{state.counter}")
            now = format_instant(self.kernel.clock.now())
            for source in sources:
                created = self.create_source(tenant, state, source)
                added.setdefault("sources", []).append(created.id)
            people += [
                {
                    "email": p["email"],
                    "first_name": p["first_name"],
                    "last_name": p["last_name"],
                    "phone_number": p["phone"],
                    "city": p["city"],
                    "state": p["state"],
                }
                for p in (synthetic.person() for _ in range(count))
            ]
            for props in people:
                visitor = self._new_visitor(state, "live", now)
                apply_user_properties(visitor, props)
                self._index_visitor(state, visitor)
            if people:
                added["visitors"] = len(people)
            return added

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

    # --- configuration --------------------------------------------------------------------------
    def _parse_config(self, state: OursState, data: dict[str, Any]) -> ConfigChange:
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

    def _apply_config(
        self, state: OursState, change: ConfigChange, *, merge: bool = False
    ) -> dict[str, Any]:
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

    def _configure(
        self, state: OursState, data: dict[str, Any], *, merge: bool = False
    ) -> dict[str, Any]:
        """Validate everything in ``data``, then apply it: all or nothing."""
        return self._apply_config(state, self._parse_config(state, data), merge=merge)

    def allowed(self, state: OursState, name: str) -> AllowedEvent | None:
        """[C] §9 event names are matched case-insensitively."""
        folded = name.casefold()
        return next((a for a in state.allowed_events if a.name.casefold() == folded), None)

    # --- sources and keys -------------------------------------------------------------------------
    def _new_token(self, tenant: str, state: OursState, *parts: object) -> str:
        return self.synthetic_for(tenant).token("source-key", *parts, length=64)

    def _check_source(
        self, state: OursState, data: dict[str, Any], ids: set[str], tokens: set[str]
    ) -> None:
        """Refuse a bad source document; changes nothing. ``ids``/``tokens`` collect what the
        same request creates (so one seed cannot issue a token or id twice)."""
        if not isinstance(data, dict):
            raise ValueError("a source must be an object")
        kind = str(data.get("type", "HTTPApiSource"))
        if kind not in SOURCE_TYPES:
            raise ValueError(f"source type must be one of {SOURCE_TYPES}")
        if data.get("status", "Active") not in ("Active", "Disabled"):
            raise ValueError("status must be Active or Disabled")
        if data.get("id"):
            source_id = str(data["id"])
            if source_id in state.sources or source_id in ids:
                raise ValueError(f"source {source_id!r} exists")
            ids.add(source_id)
        if data.get("token"):
            token = str(data["token"])
            self.check_credentials([token])
            if self.tenant_for(token) is not None or token in state.by_token or token in tokens:
                raise ValueError("that token is already issued")
            tokens.add(token)

    def create_source(self, tenant: str, state: OursState, data: dict[str, Any]) -> Source:
        with state.lock:
            self._check_source(state, data, set(), set())
            kind = str(data.get("type", "HTTPApiSource"))
            source_id = str(data.get("id") or state.next_id("src"))
            while source_id in state.sources:  # a generated id skips ids given explicitly
                source_id = state.next_id("src")
            token = str(data.get("token") or self._new_token(tenant, state, source_id))
            if token in state.by_token or self.tenant_for(token) is not None:
                raise ValueError("that token is already issued")
            source = Source(
                id=source_id,
                name=str(data.get("name") or f"{kind} source"),
                token=token,
                type=kind,
                status=str(data.get("status", "Active")),
                is_published=bool(data.get("isPublished", True)),
                created_at=format_instant(self.kernel.clock.now()),
                field_map=dict(data.get("fieldMap") or {}),
            )
            state.sources[source.id] = source
            self._bind_source(tenant, state, source)
            return source

    def update_source(self, state: OursState, source: Source, data: dict[str, Any]) -> Source:
        with state.lock:
            if "status" in data:
                if data["status"] not in ("Active", "Disabled"):
                    raise ValueError("status must be Active or Disabled")
                source.status = data["status"]
            if "isPublished" in data:
                source.is_published = bool(data["isPublished"])
            if "name" in data:
                source.name = str(data["name"])
            if "fieldMap" in data:
                source.field_map = dict(data["fieldMap"] or {})
            return source

    def rotate_source(self, tenant: str, state: OursState, source: Source) -> Source:
        """[I] §8 rotation = regenerate: the old live and test keys stop at once (no grace)."""
        with state.lock:
            for old in (source.token, source.test_token):
                state.by_token.pop(old, None)
                self.unbind_credential(old)
            source.rotations += 1
            source.token = self._new_token(tenant, state, source.id, "rotation", source.rotations)
            self._bind_source(tenant, state, source)
            return source

    def _bind_source(self, tenant: str, state: OursState, source: Source) -> None:
        for token, mode in ((source.token, "live"), (source.test_token, "test")):
            state.by_token[token] = (source.id, mode)
            self.bind_credential(token, tenant)

    def resolve_token(self, state: OursState, token: str) -> tuple[Source, str] | None:
        found = state.by_token.get(token)
        if found is None:
            return None
        return state.sources[found[0]], found[1]

    # --- visitors -------------------------------------------------------------------------------
    def _new_visitor(
        self, state: OursState, mode: str, now: str, vid: str | None = None
    ) -> Visitor:
        if vid is None:
            state.counter += 1
            vid = hashlib.sha256(f"visitor:{mode}:{state.counter}".encode()).hexdigest()[:24]
        visitor = Visitor(id=vid, mode=mode, created_at=now)
        state.visitors[mode][vid] = visitor
        return visitor

    def _index_visitor(
        self, state: OursState, visitor: Visitor, before: dict[str, Any] | None = None
    ) -> None:
        """Keep the lookup index in step with the visitor's identifying properties."""
        for kind in LOOKUP_KEYS:
            old = (before or {}).get(kind)
            new = visitor.properties.get(kind)
            if old not in (None, "") and old != new:
                key = (visitor.mode, kind, _norm(kind, old))
                if state.index.get(key) == visitor.id:
                    del state.index[key]
            if new not in (None, ""):
                state.index.setdefault((visitor.mode, kind, _norm(kind, new)), visitor.id)

    def resolve_visitor(self, state: OursState, mode: str, row: TrackInput, now: str) -> Visitor:
        """[C] §3 identity: userId is used directly (no lookup); otherwise externalId, then email,
        then userProperties.phone_number are looked up; a new visitor is created when none match.
        Test-mode traffic resolves among test visitors only ([?] so a test key never changes what
        live destinations receive)."""
        store = state.visitors[mode]
        props = row.user_properties or {}
        candidates = {
            "external_id": row.external_id or props.get("external_id"),
            "email": row.email or props.get("email"),
            "phone_number": props.get("phone_number"),
        }
        visitor: Visitor | None = None
        if row.user_id:
            visitor = store.get(row.user_id) or self._new_visitor(state, mode, now, row.user_id)
        else:
            for kind in LOOKUP_KEYS:
                value = candidates[kind]
                if isinstance(value, str) and value.strip():
                    vid = state.index.get((mode, kind, _norm(kind, value)))
                    if vid is not None:
                        visitor = store[vid]
                        break
            if visitor is None:
                visitor = self._new_visitor(state, mode, now)
        before = {kind: visitor.properties.get(kind) for kind in LOOKUP_KEYS}
        # link the identifiers the call carried ([C] §10: external_id / email identify a visitor)
        for kind in ("external_id", "email"):
            value = candidates[kind]
            if isinstance(value, str) and value.strip() and kind not in visitor.properties:
                visitor.properties[kind] = value.strip()
        if row.user_properties:
            apply_user_properties(visitor, row.user_properties)
        self._index_visitor(state, visitor, before)
        return visitor

    # --- events ---------------------------------------------------------------------------------
    def ingest(
        self, state: OursState, source: Source, mode: str, row: TrackInput
    ) -> dict[str, Any] | None:
        """Record an accepted event (status ``accepted``) or return None for a repeat.

        [C] §3 distinctId is the idempotency key: a repeat is answered like the first call but
        stored once. [I] scope: per source and mode (a source keeps its events across rotation).
        Only caller-supplied distinctIds are deduplicated: an id Ours generates ([C] §3 "if
        omitted Ours generates one") is never looked up, so an event sent without distinctId is
        never mistaken for a repeat. [?] a generated id is ``ours_evt_`` + 24 hex digits of a
        digest (unguessable, so no caller id collides with it downstream either) and skips any
        id a caller already used.
        """
        with state.lock:
            now = self.kernel.clock.now()
            stamp = format_instant(now)
            if row.distinct_id:
                key = (source.id, mode, row.distinct_id)
                if key in state.seen:
                    return None
                state.seen.add(key)
                distinct_id = row.distinct_id
            else:
                distinct_id = _generated_id(state, source.id, mode)
                while (source.id, mode, distinct_id) in state.seen:
                    distinct_id = _generated_id(state, source.id, mode)
            source.last_triggered_at = stamp
            visitor = self.resolve_visitor(state, mode, row, stamp)
            event = {
                "id": state.next_id("evt"),
                "event": row.event,
                "mode": mode,
                "source": source.id,
                "distinct_id": distinct_id,
                "visitor_id": visitor.id,
                "identifiers": {
                    "userId": row.user_id,
                    "externalId": row.external_id,
                    "email": row.email,
                },
                "properties": row.event_properties,
                "received_at": stamp,
                "status": "accepted",
                "tags": ["test"] if mode == "test" else [],
                "time": format_instant(datetime.fromtimestamp(row.time_ms / 1000, UTC))
                if row.time_ms
                else stamp,
                "user_properties": row.user_properties,
                "default_properties": row.default_properties,
                "identity_context": row.identity_context,
                "destinations": [],
                # the request's X-Request-ID, so a timeline can follow it to each dispatch
                "correlation_id": correlation_id.get(),
            }
            state.events.append(event)
            state.events_by_id[event["id"]] = event
            return event

    def _reindex(self, state: OursState) -> None:
        state.by_token.clear()
        for source in state.sources.values():
            state.by_token[source.token] = (source.id, "live")
            state.by_token[source.test_token] = (source.id, "test")
        state.index.clear()
        for store in state.visitors.values():
            for visitor in store.values():
                self._index_visitor(state, visitor)
        state.events_by_id = {e["id"]: e for e in state.events}
