"""The seeded Ours Privacy account: what every tenant starts with (DESIGN.md, pinned).

- an Ingest API source (``src_demo``) whose live ``token`` and ``test_token`` are the stack's demo
  credentials, and a Webhook source (``src_webhook``);
- two recording destinations with their default mappings: Meta CAPI (takes every allowed event)
  and Google Ads (the conversions);
- an allow-list with the demo scenarios' events; ``$identify`` is *not* on it, so /identify sets
  visitor properties without firing anything downstream;
- one data-governance category: visitors who rejected "advertising" consent reach no ad platform.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from careflow.mocks.kernel import Synthetic, format_instant

from .config import apply_config, parse_config
from .destinations import Destination
from .state import AllowedEvent, GovernanceCategory, OursState, Source
from .visitors import apply_user_properties, index_visitor, new_visitor

if TYPE_CHECKING:
    from .models import OursBackend

DEMO_EVENTS = (
    "lead_created",
    "lead_updated",
    "patient_intake",
    "intake_completed",
    "appointment_booked",
    "appointment_scheduled",
    "appointment_cancelled",
    "quote_added",
    "sale_completed",
    "record_created",
    "record_updated",
    "form_submitted",
    "call_completed",
)
CONVERSIONS = (
    "lead_created",
    "patient_intake",
    "appointment_booked",
    "quote_added",
    "sale_completed",
)


def seed_demo(state: OursState, synthetic: Synthetic, now: str) -> None:
    state.sources["src_demo"] = Source(
        id="src_demo",
        name="Keragon (Ingest API)",
        token=synthetic.token("source-key", length=64),
        created_at=now,
    )
    state.sources["src_webhook"] = Source(
        id="src_webhook",
        name="Intake form webhook",
        type="Webhook",
        token=synthetic.token("webhook-source", length=64),
        created_at=now,
        field_map={"event": "event", "email": "email", "externalId": "external_id"},
    )
    state.demo_source = "src_demo"
    state.destinations = {
        "meta-capi": Destination(id="meta-capi", type="Facebook", name="Meta CAPI"),
        "google-ads": Destination(id="google-ads", type="Google", name="Google Ads"),
    }
    state.allowed_events = [
        AllowedEvent(name, ["meta-capi", "google-ads"] if name in CONVERSIONS else ["meta-capi"])
        for name in DEMO_EVENTS
    ]
    state.governance = [
        GovernanceCategory(
            name="advertising",
            logic={
                "path": "visitor.consent.rejected_categories",
                "operator": "Contains",
                "value": "advertising",
            },
            destination_ids=["meta-capi", "google-ads"],
        )
    ]


def seed_body(
    backend: OursBackend, tenant: str, state: OursState, body: dict[str, Any]
) -> dict[str, Any]:
    """Seed body: ``sources``, ``allowed_events``, ``destinations``, ``data_governance``,
    ``visitors`` (objects with properties) or ``{"synthetic": {"visitors": n}}``."""
    with state.lock:
        # validate the whole document first: a refused seed changes nothing
        change = parse_config(state, body)
        sources = list(body.get("sources", []))
        ids: set[str] = set()
        tokens: set[str] = set()
        for source in sources:
            backend.sources.check_source(state, source, ids, tokens)
        people = list(body.get("visitors", []))
        if not all(isinstance(p, dict) for p in people):
            raise ValueError("visitors must be objects of visitor properties")
        count = int(body.get("synthetic", {}).get("visitors", 0))
        if count < 0:
            raise ValueError("synthetic.visitors must be >= 0")
        added = apply_config(state, change, merge=True)
        synthetic = backend.synthetic_for(tenant).for_(f"seed-{state.counter}")
        now = format_instant(backend.kernel.clock.now())
        for source in sources:
            created = backend.sources.create(tenant, state, source)
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
            visitor = new_visitor(state, "live", now)
            apply_user_properties(visitor, props)
            index_visitor(state, visitor)
        if people:
            added["visitors"] = len(people)
        return added
