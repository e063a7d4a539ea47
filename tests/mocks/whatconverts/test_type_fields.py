"""[C] whatconverts.md §6.2 every lead carries the type-specific fields of its lead type, seeded
or created."""

from __future__ import annotations

import pytest

from careflow.mocks.whatconverts.models import LEAD_TYPES, TYPE_RESPONSE_FIELDS

from .conftest import WCEnv

OTHER_TYPES_ONLY = {
    name: set().union(*(f for t, f in TYPE_RESPONSE_FIELDS.items() if t != name))
    - set(TYPE_RESPONSE_FIELDS[name])
    for name in LEAD_TYPES
}
# §6.2, spelled out so the test does not just repeat the model's table
EXPECTED = {
    "phone_call": {"call_status", "phone_name", "tracking_number", "destination_number",
                   "caller_number", "caller_name", "caller_city", "caller_state", "caller_zip",
                   "caller_country", "call_duration", "call_duration_seconds", "answer_status",
                   "line_type", "recording", "play_recording", "voicemail", "play_voicemail",
                   "call_transcription", "voicemail_transcription"},
    "web_form": {"form_name"},
    "text_message": {"message", "tracking_number", "caller_number"},
    "chat": {"chat_status"},
    "event": {"event_category", "event_action", "event_label"},
    "transaction": {"transaction_id", "transaction_tax", "transaction_shipping"},
    "email": {"sender_name", "email_subject", "email_message"},
    "appointment": set(),
    "other": set(),
}  # fmt: skip


@pytest.mark.parametrize("lead_type", list(LEAD_TYPES))
def test_seeded_leads_carry_their_type_fields(env: WCEnv, lead_type: str) -> None:
    leads = env.profile.get(
        "/leads", params={"lead_type": lead_type, "leads_per_page": 2500}
    ).json()["leads"]
    assert leads, f"the seed has no {lead_type} lead"
    for lead in leads:
        assert EXPECTED[lead_type] <= set(lead)
        assert not (OTHER_TYPES_ONLY[lead_type] & set(lead)), "another type's field"
        filled = {name for name in EXPECTED[lead_type] if lead[name] not in (None, "")}
        # seeded leads have values (recording or voicemail, not both, for a call)
        assert filled >= EXPECTED[lead_type] - {
            "recording",
            "play_recording",
            "voicemail",
            "play_voicemail",
            "call_transcription",
            "voicemail_transcription",
        }
    if lead_type == "phone_call":
        assert {lead["answer_status"] for lead in leads} <= {"Answered", "No Answer", "Busy"}
        assert all(
            lead["call_duration"] == f"{lead['call_duration_seconds']} seconds" for lead in leads
        )
    if lead_type == "chat":
        assert {lead["chat_status"] for lead in leads} <= {"Completed", "In Progress"}


@pytest.mark.parametrize("lead_type", list(LEAD_TYPES))
def test_created_leads_carry_their_type_fields(env: WCEnv, lead_type: str) -> None:
    lead = env.profile.post("/leads", data={"lead_type": lead_type}).json()
    assert EXPECTED[lead_type] <= set(lead)
    assert not (OTHER_TYPES_ONLY[lead_type] & set(lead))


def test_created_type_fields_take_the_sent_values(env: WCEnv) -> None:
    event = env.profile.post(
        "/leads",
        data={"lead_type": "event", "event_category": "video", "event_action": "play"},
    ).json()
    assert (event["event_category"], event["event_action"], event["event_label"]) == (
        "video",
        "play",
        None,
    )
    sale = env.profile.post(
        "/leads", data={"lead_type": "transaction", "transaction_tax": "4.5"}
    ).json()
    assert sale["transaction_tax"] == 4.5
