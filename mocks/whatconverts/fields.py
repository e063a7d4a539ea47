"""Lead fields: the vocabulary of lead types and their fields, the blank lead a type starts
from, and how a request's values are checked and written onto a lead ([C] whatconverts.md §5.4,
§5.5, §6)."""

from __future__ import annotations

import copy
import uuid
from datetime import datetime
from typing import Any

from .errors import WCError
from .state import WCState, stamp

# §6.3: request enums are snake_case, responses carry display names.
LEAD_TYPES = {
    "phone_call": "Phone Call",
    "web_form": "Web Form",
    "chat": "Chat",
    "text_message": "Text Message",
    "email": "Email",
    "appointment": "Appointment",
    "event": "Event",
    "transaction": "Transaction",
    "other": "Other",
}
LEAD_STATUS = {"unique": "Unique", "repeat": "Repeat"}
QUOTABLE = {"yes": "Yes", "no": "No", "pending": "Pending", "not_set": "Not Set"}

# §5.4 default fields a create may set (plus additional_fields / custom_fields maps).
COMMON_FIELDS = frozenset(
    {
        "date_created",
        "quotable",
        "quote_value",
        "sales_value",
        "lead_source",
        "lead_medium",
        "lead_campaign",
        "lead_content",
        "lead_keyword",
        "lead_url",
        "landing_url",
        "ip_address",
        "user_id",
        "contact_name",
        "email_address",
        "phone_number",
        "notes",
        "city",
        "state",
        "zip",
        "country",
        "gclid",
        "msclkid",
        "fbclid",
        "fbpid",
        "operating_system",
        "browser",
        "device_type",
        "device_make",
        "wc_client_current",
    }
)
# §6.2 type-specific fields (only for their lead type).
TYPE_FIELDS: dict[str, frozenset[str]] = {
    "phone_call": frozenset(
        {
            "phone_name",
            "tracking_number",
            "destination_number",
            "caller_number",
            "caller_name",
            "call_duration_seconds",
            "answer_status",
            "line_type",
            "call_transcription",
            "voicemail_transcription",
        }
    ),
    "text_message": frozenset({"message", "tracking_number", "caller_number", "caller_name"}),
    "web_form": frozenset({"form_name"}),
    "event": frozenset({"event_category", "event_action", "event_label"}),
    "transaction": frozenset({"transaction_id", "transaction_tax", "transaction_shipping"}),
    "email": frozenset({"sender_name", "email_subject", "email_message"}),
    "chat": frozenset(),
    "appointment": frozenset(),
    "other": frozenset(),
}
# [C] §6.2 the fields every lead of a type carries in responses and webhooks, with the value a
# created lead starts from (null until known; §6 captured objects give null/"" for unknown).
TYPE_RESPONSE_FIELDS: dict[str, dict[str, Any]] = {
    "phone_call": {
        "call_status": "Completed",
        "phone_name": None,
        "tracking_number": None,
        "destination_number": None,
        "caller_number": None,
        "caller_name": None,
        "caller_city": None,
        "caller_state": None,
        "caller_zip": None,
        "caller_country": None,
        "call_duration": "0 seconds",
        "call_duration_seconds": 0,
        "answer_status": "Answered",
        "line_type": None,
        "recording": None,
        "play_recording": None,
        "voicemail": None,
        "play_voicemail": None,
        "call_transcription": None,
        "voicemail_transcription": None,
    },
    "web_form": {"form_name": None},
    "text_message": {
        "message": None,
        "tracking_number": None,
        "caller_number": None,
        "caller_name": None,
    },
    "chat": {"chat_status": "Completed"},
    "event": {"event_category": None, "event_action": None, "event_label": None},
    "transaction": {"transaction_id": None, "transaction_tax": None, "transaction_shipping": None},
    "email": {"sender_name": None, "email_subject": None, "email_message": None},
    "appointment": {},
    "other": {},
}
ANSWER_STATUS = ("Answered", "No Answer", "Busy")  # [C] §5.4 / §6.2 answer_status values
# §5.5 the only fields an edit may change (plus the additional/custom field maps).
EDITABLE = ("quotable", "quote_value", "sales_value", "lead_url")
MAPS = ("additional_fields", "custom_fields")
NUMBERS = frozenset(
    {
        "quote_value",
        "sales_value",
        "call_duration_seconds",
        "transaction_tax",
        "transaction_shipping",
    }
)


def blank_lead(
    state: WCState, profile_id: int, lead_type: str, created: datetime
) -> dict[str, Any]:
    profile = state.profiles[profile_id]
    account = state.accounts[profile["account_id"]]
    lead_id = state.next_ids["lead"]  # taken only when stored (store_lead)
    lead: dict[str, Any] = {
        "account_id": account["account_id"],
        "account": account["account_name"],
        "profile_id": profile_id,
        "profile": profile["profile_name"],
        "lead_id": lead_id,
        "user_id": f"{profile_id}-{uuid.UUID(int=lead_id * 7919 + profile_id)}",
        "lead_type": LEAD_TYPES[lead_type],
        "lead_status": "Unique",
        "date_created": stamp(created),
        "last_updated": stamp(created),
        "quotable": "Not Set",
        "quote_value": None,
        "sales_value": None,
        "spotted_keywords": "",
        "lead_score": 0,
        "lead_state": "Completed",
        "spam": False,
        "duplicate": False,
        "lead_source": "(direct)",
        "lead_medium": "(none)",
        "lead_campaign": None,
        "lead_content": None,
        "lead_keyword": None,
        "lead_url": None,
        "landing_url": None,
        "contact_name": "",
        "email_address": "",
        "phone_number": "",
        "lead_analysis": [],
        "additional_fields": [],
        "custom_fields": [],
    }
    lead.update(copy.deepcopy(TYPE_RESPONSE_FIELDS[lead_type]))
    return lead


def apply_values(lead: dict[str, Any], values: dict[str, Any]) -> None:
    for name, value in values.items():
        if name in MAPS:
            if not isinstance(value, dict):
                raise WCError(f"Invalid {name} parameter: expected {name}[Name]=value.")
            merged = dict(lead.get(name) or {})
            merged.update({str(k): v for k, v in value.items()})
            lead[name] = merged
        elif name == "quotable":
            if value not in QUOTABLE:
                raise WCError("Invalid quotable parameter.")
            lead[name] = QUOTABLE[value]
        elif name in NUMBERS:
            lead[name] = _number(value, name)
            if name == "call_duration_seconds" and lead[name] is not None:
                lead["call_duration"] = f"{int(lead[name])} seconds"
        else:
            lead[name] = None if value is None else str(value)
    if lead.get("email_address") and not lead.get("contact_email_address"):
        lead["contact_email_address"] = lead["email_address"]
    if lead.get("phone_number") and not lead.get("contact_phone_number"):
        lead["contact_phone_number"] = lead["phone_number"]


def _number(value: Any, name: str) -> float | int | None:
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise WCError(f"Invalid {name} parameter: a number is required.") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise WCError(f"Invalid {name} parameter: a number is required.")
    return int(number) if number.is_integer() else number
