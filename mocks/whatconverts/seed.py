"""The WhatConverts seed: one demo account and profile (101), keys, and synthetic leads (facts:
docs/vendors/whatconverts.md).

Synthetic leads are obviously fake (555-01xx phones, example.com/.org emails) and deterministic
for a seed. ``POST /__sandbox/seed`` adds more:
``{"synthetic": {"leads": N, "window_minutes": M, "end_minutes_ago": K, "lead_types": [...],
"profile_id": P}}`` spreads N leads' ``date_created`` over the M minutes that end K minutes before
the virtual now; ``{"leads": [{...request-form fields...}]}`` adds explicit leads.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from careflow.mocks.kernel import Synthetic

from . import recordings
from .errors import WCError
from .fields import ANSWER_STATUS, LEAD_TYPES, QUOTABLE, blank_lead
from .state import ApiKey, WCState, stamp

if TYPE_CHECKING:
    from .models import WhatConvertsBackend

DEMO_PROFILE = 101
DEMO_ACCOUNT = 2001
SOURCES = [
    ("google", "cpc"),
    ("google", "organic"),
    ("(direct)", "(none)"),
    ("facebook", "paid-social"),
    ("bing", "cpc"),
]


SEED_MAX = 10_000  # leads one seed request adds: the seed runs while the fake waits
MAX_MINUTES = 100 * 366 * 24 * 60  # a century, as far as the clock may be moved


def seed_demo(backend: WhatConvertsBackend, state: WCState, synthetic: Synthetic) -> None:
    now = backend.kernel.clock.now()
    state.accounts[DEMO_ACCOUNT] = {
        "account_id": DEMO_ACCOUNT,
        "account_name": "Demo Clinic",
        "date_created": stamp(now - timedelta(days=400)),
        "hipaa": True,
    }
    state.profiles[DEMO_PROFILE] = {
        "profile_id": DEMO_PROFILE,
        "account_id": DEMO_ACCOUNT,
        "profile_name": "Demo Clinic - Main",
        "date_created": stamp(now - timedelta(days=400)),
    }
    token, secret = (
        synthetic.token("profile-key", DEMO_PROFILE),
        synthetic.token("profile-secret", DEMO_PROFILE),
    )
    master, master_secret = synthetic.token("master-key"), synthetic.token("master-secret")
    state.keys[token] = ApiKey(token, secret, "profile", DEMO_ACCOUNT, DEMO_PROFILE)
    state.keys[master] = ApiKey(master, master_secret, "master", DEMO_ACCOUNT)
    state.next_ids["account"] = DEMO_ACCOUNT + 1
    state.next_ids["profile"] = DEMO_PROFILE + 1
    state.demo = {
        "api_token": token,
        "api_secret": secret,
        "profile_id": DEMO_PROFILE,
        "master_token": master,
        "master_secret": master_secret,
    }
    # a few dozen leads of every type over the last 10 days (none in the last 15 minutes, so
    # trigger tests and polls start from a quiet window)
    gen = synthetic.for_("leads")
    types = list(LEAD_TYPES)
    for i in range(36):
        minutes = gen.random.randint(15, 10 * 24 * 60)
        add_synthetic_lead(
            backend,
            state,
            gen,
            types[i % len(types)],
            DEMO_PROFILE,
            now - timedelta(minutes=minutes),
        )


def add_synthetic_lead(
    backend: WhatConvertsBackend,
    state: WCState,
    gen: Synthetic,
    lead_type: str,
    profile_id: int,
    created: Any,
) -> dict[str, Any]:
    person = gen.person()
    phone = "+" + "".join(c for c in person["phone"] if c.isdigit())  # §6.1 E.164
    source, medium = gen.random.choice(SOURCES)
    lead = blank_lead(state, profile_id, lead_type, created)
    lead.update(
        contact_name=person["name"],
        email_address=person["email"],
        contact_email_address=person["email"],
        phone_number=phone,
        contact_phone_number=phone,
        city=person["city"],
        state=person["state"],
        zip=person["zip"],
        country="US",
        lead_source=source,
        lead_medium=medium,
        lead_url="https://clinic.example.com/contact",
        landing_url="https://clinic.example.com/",
        lead_status=gen.random.choice(["Unique", "Unique", "Repeat"]),
        quotable=gen.random.choice(list(QUOTABLE.values())),
    )
    if gen.random.random() < 0.3:
        lead["quote_value"] = gen.random.randint(1, 40) * 50
    lead.update(type_fields(gen, lead, lead_type, person, phone))
    backend.leads.store_lead(state, lead)
    return lead


def seed_body(
    backend: WhatConvertsBackend, tenant: str, state: WCState, body: dict[str, Any]
) -> dict[str, Any]:
    added = 0
    synthetic = body.get("synthetic") or {}
    if synthetic:
        count = int(synthetic.get("leads", 0))
        window = float(synthetic.get("window_minutes", 60))
        end_ago = float(synthetic.get("end_minutes_ago", 0))
        profile_id = int(synthetic.get("profile_id", state.demo["profile_id"]))
        if profile_id not in state.profiles:
            raise ValueError(f"no profile {profile_id}")
        types = synthetic.get("lead_types") or list(LEAD_TYPES)
        unknown = set(types) - set(LEAD_TYPES)
        spans_ok = 0 <= window <= MAX_MINUTES and 0 <= end_ago <= MAX_MINUTES
        if unknown or not 0 <= count <= SEED_MAX or not spans_ok:
            raise ValueError(
                f"synthetic: leads 0..{SEED_MAX} per request (seed again for more), "
                f"window_minutes and end_minutes_ago 0..{MAX_MINUTES}, known lead_types"
            )
        gen = Synthetic(backend.kernel.seed, f"whatconverts/{tenant}/seed/{state.next_ids['lead']}")
        end = backend.kernel.clock.now() - timedelta(minutes=end_ago)
        for i in range(count):
            offset = window * 60 * (i + 0.5) / count if count else 0
            add_synthetic_lead(
                backend,
                state,
                gen,
                types[i % len(types)],
                profile_id,
                end - timedelta(seconds=offset),
            )
            added += 1
    for lead in body.get("leads") or []:
        key = next(k for k in state.keys.values() if k.kind == "master")
        try:
            backend.create_lead(
                tenant, state, key, {"profile_id": state.demo["profile_id"], **lead}
            )
        except WCError as exc:
            raise ValueError(exc.message) from exc
        added += 1
    return {"leads": added}


def type_fields(
    gen: Synthetic, lead: dict[str, Any], lead_type: str, person: dict[str, Any], phone: str
) -> dict[str, Any]:
    """[C] §6.2 synthetic values for every type-specific field of ``lead_type``."""
    lead_id, r = lead["lead_id"], gen.random
    if lead_type == "phone_call":
        seconds = r.randint(10, 600)
        # most calls are answered; the rest go to voicemail
        answer = r.choice((ANSWER_STATUS[0],) * 3 + ANSWER_STATUS[1:])
        voicemail = answer != "Answered"
        return {
            "phone_name": "Main line",
            "tracking_number": "+15125550100",
            "destination_number": "+15125550199",
            "caller_number": phone,
            "caller_name": person["name"],
            "caller_city": person["city"],
            "caller_state": person["state"],
            "caller_zip": person["zip"],
            "caller_country": "US",
            "call_duration": f"{seconds} seconds",
            "call_duration_seconds": seconds,
            "answer_status": answer,
            "line_type": r.choice(["Landline", "Mobile"]),
            # [C] §6.2 recording / play_recording (or voicemail / play_voicemail): links to the
            # call's audio, which the fake serves (recordings.py)
            **recordings.links(lead, voicemail=voicemail),
            "call_transcription": None if voicemail else "Caller asked about appointments.",
            "voicemail_transcription": "Please call me back." if voicemail else None,
        }
    if lead_type == "web_form":
        return {"form_name": "Appointment request"}
    if lead_type == "text_message":
        return {
            "message": "Hi, do you have availability this week?",
            "tracking_number": "+15125550100",
            "caller_number": phone,
            "caller_name": person["name"],
        }
    if lead_type == "chat":
        return {"chat_status": r.choice(["Completed", "Completed", "In Progress"])}
    if lead_type == "event":
        return {
            "event_category": "booking",
            "event_action": r.choice(["click", "submit"]),
            "event_label": "Book now",
        }
    if lead_type == "transaction":
        return {
            "transaction_id": f"T-{lead_id}",
            "transaction_tax": round(r.randint(0, 4000) / 100, 2),
            "transaction_shipping": 0,
        }
    if lead_type == "email":
        return {
            "sender_name": person["name"],
            "email_subject": "Question about an appointment",
            "email_message": "Hello, I would like to book a consultation.",
        }
    return {}
