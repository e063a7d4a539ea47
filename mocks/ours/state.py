"""Ours Privacy state (ours-privacy.md): one tenant's sources and keys, visitors, events,
configuration (destinations, the allow-list, data governance) and dispatches, with the lookups
rebuilt on load.

The parts (config.py, sources.py, visitors.py, events.py) read and change this state; models.py
composes them into the ``OursBackend``.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from typing import Any

from careflow.mocks.kernel.synthetic import SANDBOX_MARK

from .destinations import Destination

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
