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

from careflow.mocks.kernel import Synthetic

from .destinations import Destination
from .models import AllowedEvent, GovernanceCategory, OursState, Source

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
