"""Destinations: recording sinks named after real Ours destination types, plus an HTTP one.

[C] ours-privacy.md §9: destinations have a type (``Facebook`` = Meta CAPI, ``Google`` = Google
Ads, ``GA4MeasurementProtocol``, ``HTTPDestination``, …), ``status``, ``settings``,
``limitedToSourceIds`` and a default mapping. The sandbox never calls a real ad platform: a
recording sink stores the payload it *would* send (``GET /__sandbox/dispatches``); only
``HTTPDestination`` really POSTs, through the kernel's ``WebhookSender`` (loopback only unless the
stack runs with ``--allow-remote``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from careflow.mocks.kernel import Kernel

# Destination types the fake knows, with their display names. [C] platform-sdk type enum.
DESTINATION_TYPES: dict[str, str] = {
    "Facebook": "Meta Conversions API",
    "Google": "Google Ads",
    "GA4MeasurementProtocol": "Google Analytics 4 (Measurement Protocol)",
    "TikTok": "TikTok Events API",
    "LinkedInAdsCAPI": "LinkedIn Conversions API",
    "BingAds": "Microsoft Advertising",
    "HTTPDestination": "HTTP",
}


@dataclass
class Mapping:
    """One mapped field. [C] §9: ``{property, map, modification}``, optional ``logic``,
    ``priority``, ``isEnabled``; ``map`` is a ``{{event.x}}``/``{{visitor.x}}`` template or a bare
    string sent verbatim; ``property`` may be dotted (``user_data.em``) to nest."""

    property: str
    map: str
    modification: str | None = None
    logic: dict[str, Any] | None = None
    priority: int = 0
    is_enabled: bool = True

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Mapping:
        return cls(
            property=str(data["property"]),
            map=str(data["map"]),
            modification=data.get("modification"),
            logic=data.get("logic"),
            priority=int(data.get("priority", 0)),
            is_enabled=bool(data.get("isEnabled", data.get("is_enabled", True))),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "property": self.property,
            "map": self.map,
            "modification": self.modification,
            "logic": self.logic,
            "priority": self.priority,
            "isEnabled": self.is_enabled,
        }


def _m(prop: str, template: str, modification: str | None = None) -> Mapping:
    return Mapping(prop, template, modification)


# Default mapping per destination type. [C] §9 "default mapping per destination" and "Default PHI
# posture: email / phone hashed or redacted by default"; field names follow each platform's API.
DEFAULT_MAPPINGS: dict[str, list[Mapping]] = {
    "Facebook": [
        _m("event_name", "{{ event.event }}"),
        _m("event_time", "{{ event.time_seconds }}"),
        _m("event_id", "{{ event.distinct_id }}"),
        _m("action_source", "system_generated"),
        _m("user_data.em", "{{ visitor.email }}", "HashedNormalized"),
        _m("user_data.ph", "{{ visitor.phone_number }}", "HashedPhone"),
        _m("user_data.external_id", "{{ visitor.external_id }}", "Hash"),
        _m("user_data.fbc", "{{ visitor.fbc }}"),
        _m("custom_data", "{{ event.event_properties }}"),
    ],
    "Google": [
        _m("conversion_action", "{{ event.event }}"),
        _m("conversion_date_time", "{{ event.time }}"),
        _m("order_id", "{{ event.distinct_id }}"),
        _m("gclid", "{{ visitor.gclid }}"),
        _m("user_identifiers.hashed_email", "{{ visitor.email }}", "HashedNormalized"),
        _m("user_identifiers.hashed_phone_number", "{{ visitor.phone_number }}", "HashedPhone"),
        _m("custom_variables", "{{ event.event_properties }}"),
    ],
    "GA4MeasurementProtocol": [
        _m("client_id", "{{ visitor.id }}"),
        _m("event_name", "{{ event.event }}", "SnakeCase"),
        _m("timestamp_micros", "{{ event.time_micros }}"),
        _m("params", "{{ event.event_properties }}"),
    ],
    "HTTPDestination": [
        _m("event", "{{ event.event }}"),
        _m("distinct_id", "{{ event.distinct_id }}"),
        _m("time", "{{ event.time }}"),
        _m("visitor_id", "{{ visitor.id }}"),
        _m("email_sha256", "{{ visitor.email }}", "HashedNormalized"),
        _m("properties", "{{ event.event_properties }}"),
    ],
}


@dataclass
class Destination:
    id: str
    type: str
    name: str = ""
    status: str = "Active"  # Active | Disabled
    settings: dict[str, Any] = field(default_factory=dict)  # HTTPDestination: {"url": ...}
    mappings: list[Mapping] | None = None  # None → the type's default mapping
    limited_to_source_ids: list[str] | None = None
    hashing_salt: str = ""
    # What happens to a PHI-named field no mapping gave a modification: hash | redact | off.
    # [C] §9 "hashed or redacted by default ... configurable per destination".
    phi_default: str = "hash"

    def __post_init__(self) -> None:
        if self.type not in DESTINATION_TYPES:
            raise ValueError(
                f"unknown destination type {self.type!r}; one of {sorted(DESTINATION_TYPES)}"
            )
        if self.phi_default not in ("hash", "redact", "off"):
            raise ValueError("phiDefault must be hash, redact or off")
        if self.type == "HTTPDestination" and not self.settings.get("url"):
            raise ValueError("an HTTPDestination needs settings.url")
        self.name = self.name or DESTINATION_TYPES[self.type]

    @property
    def active(self) -> bool:
        return self.status == "Active"

    def effective_mappings(self) -> list[Mapping]:
        chosen = self.mappings if self.mappings is not None else DEFAULT_MAPPINGS.get(self.type, [])
        return sorted((m for m in chosen if m.is_enabled), key=lambda m: m.priority)

    def takes_source(self, source_id: str) -> bool:
        return not self.limited_to_source_ids or source_id in self.limited_to_source_ids

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Destination:
        mappings = data.get("mappings")
        return cls(
            id=str(data["id"]),
            type=str(data["type"]),
            name=str(data.get("name") or ""),
            status=str(data.get("status", "Active")),
            settings=dict(data.get("settings") or {}),
            mappings=[Mapping.parse(m) for m in mappings] if mappings is not None else None,
            limited_to_source_ids=data.get("limitedToSourceIds"),
            hashing_salt=str(data.get("hashingSalt") or ""),
            phi_default=str(data.get("phiDefault", "hash")),
        )

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        return {
            "id": self.id,
            "type": self.type,
            "name": self.name,
            "status": self.status,
            "settings": out["settings"],
            "mappings": [m.as_dict() for m in self.mappings] if self.mappings is not None else None,
            "limitedToSourceIds": self.limited_to_source_ids,
            "hashingSalt": self.hashing_salt,
            "phiDefault": self.phi_default,
        }


def deliver(
    kernel: Kernel, tenant: str, destination: Destination, event: dict[str, Any], payload: Any
) -> dict[str, Any]:
    """Hand ``payload`` to the destination; returns what the sink did (kept on the dispatch)."""
    if destination.type != "HTTPDestination":
        return {"sink": "recorded"}
    delivery = kernel.webhooks.enqueue(
        destination.settings["url"],
        payload,
        event=event["event"],
        tenant=tenant,
        headers=dict(destination.settings.get("headers") or {}),
        meta={"destination": destination.id, "event_id": event["id"]},
    )
    return {"sink": "http", "delivery_id": delivery.id}
