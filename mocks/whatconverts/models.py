"""WhatConverts state and rules: accounts, profiles, API keys, leads, quotas, webhooks.

Every rule cites its source in ../shared/vendors/whatconverts.md (§ numbers).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from careflow.mocks.kernel import Backend, Synthetic, correlation_id, is_loopback_url

from .errors import TooManyRequests, Unauthorized, WCError

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

PAGE_MAX = 2500  # §3 leads_per_page maximum 2500 (default 25)
PAGE_DEFAULT = 25
ADMIN_PAGE_MAX = 250  # §3 accounts_per_page / profiles_per_page maximum 250
RANGE_DAYS = 400  # §3 a lead date range may span at most 400 days
PROFILE_DAILY = 1_000  # §3 profile key: 1,000 requests/day
MASTER_DAILY = 10_000  # §3 master key: 10,000 requests/day
CONCURRENT = 20  # §3 up to 20 concurrent requests


def stamp(moment: datetime) -> str:
    """[C] §1/§6.1 dates look like ``2016-02-01T14:09:01Z``: always a four-digit year
    (``strftime("%Y")`` gives ``73`` for the year 73 on glibc, which breaks the contract's
    pattern and the string order leads are sorted and filtered by)."""
    utc = moment.astimezone(UTC)
    return f"{utc.year:04d}-{utc:%m-%dT%H:%M:%S}Z"


def parse_date(value: str, name: str, *, end: bool = False) -> datetime:
    """§5.1 ``YYYY-MM-DD`` or an ISO date-time, as a UTC instant; an instant outside years
    1..9999 once in UTC (``0001-01-01T00:30:00+01:00``) is invalid too, not an overflow."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day, time.max if end else time.min, tzinfo=UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1))
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise WCError(f"Invalid {name} parameter.") from None


@dataclass
class ApiKey:
    token: str
    secret: str
    kind: str  # "profile" | "master"
    account_id: int
    profile_id: int | None = None


@dataclass
class WCState:
    accounts: dict[int, dict[str, Any]] = field(default_factory=dict)
    profiles: dict[int, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, ApiKey] = field(default_factory=dict)
    leads: dict[int, dict[str, Any]] = field(default_factory=dict)
    webhooks: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, list[Any]] = field(default_factory=dict)  # token → [day, count]
    limits: dict[str, int] = field(
        default_factory=lambda: {"profile": PROFILE_DAILY, "master": MASTER_DAILY, "status": 429}
    )
    next_ids: dict[str, int] = field(
        default_factory=lambda: {"lead": 100_001, "account": 2001, "profile": 102, "webhook": 1}
    )
    in_flight: dict[str, int] = field(default_factory=dict)  # token → requests in flight
    demo: dict[str, Any] = field(default_factory=dict)


class WhatConvertsBackend(Backend[WCState]):
    service = "whatconverts"
    seed_keys = frozenset({"synthetic", "leads"})
    synthetic_keys = frozenset(
        {"leads", "window_minutes", "end_minutes_ago", "profile_id", "lead_types"}
    )
    phi_fields = frozenset(
        {
            "contact_name",
            "contact_email_address",
            "contact_phone_number",
            "email_address",
            "phone_number",
            "caller_name",
            "caller_number",
            "ip_address",
            "notes",
            "message",
            "call_transcription",
            "voicemail_transcription",
            "sender_name",
            "email_message",
            "contact_company_name",
            "zip",
            "caller_zip",
        }
    )

    # seeding -----------------------------------------------------------------------------------
    def new_state(self, tenant: str, synthetic: Synthetic) -> WCState:
        from .seed import seed_demo

        state = WCState()
        seed_demo(self, state, synthetic)
        return state

    def dump_state(self, state: WCState) -> dict[str, Any]:
        data = asdict(state)
        data.pop("in_flight")
        data["keys"] = {k: asdict(v) for k, v in state.keys.items()}
        return copy.deepcopy(data)

    def load_state(self, tenant: str, data: dict[str, Any]) -> WCState:
        data = copy.deepcopy(data)
        state = WCState(
            accounts={int(k): v for k, v in data["accounts"].items()},
            profiles={int(k): v for k, v in data["profiles"].items()},
            keys={k: ApiKey(**v) for k, v in data["keys"].items()},
            leads={int(k): v for k, v in data["leads"].items()},
            webhooks=data.get("webhooks", []),
            usage=data.get("usage", {}),
            limits=data.get("limits") or WCState().limits,
            next_ids=data["next_ids"],
            demo=data.get("demo", {}),
        )
        return state

    def seed_state(self, tenant: str, state: WCState, body: dict[str, Any]) -> dict[str, Any]:
        from .seed import seed_body

        return seed_body(self, tenant, state, body)

    def credentials_of(self, state: WCState) -> dict[str, Any]:
        return dict(state.demo)

    def credential_keys(self, state: WCState) -> list[str]:
        return list(state.keys)

    def error_body(
        self, status: int, message: str, resource: str = ""
    ) -> tuple[Any, dict[str, str]]:
        return {"error_message": message}, {}

    # auth and limits -----------------------------------------------------------------------
    def authenticate(self, header: str | None) -> tuple[str, WCState, ApiKey]:
        """§2 HTTP Basic token:secret; two 401 messages."""
        import base64
        import binascii

        if not header or not header.lower().startswith("basic "):
            raise Unauthorized("Authentication not provided.")
        try:
            token, _, secret = base64.b64decode(header[6:].strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthorized("Authentication failed.") from None
        tenant = self.tenant_for(token)
        if tenant is None:
            raise Unauthorized("Authentication failed.")
        state = self.state(tenant)
        key = state.keys.get(token)
        if key is None or key.secret != secret:
            raise Unauthorized("Authentication failed.")
        return tenant, state, key

    def count_request(self, state: WCState, key: ApiKey) -> None:
        """§3 daily quota per key, reset at midnight UTC (virtual clock)."""
        today = self.kernel.clock.now().date().isoformat()
        day, count = state.usage.get(key.token, [today, 0])
        if day != today:
            count = 0
        limit = state.limits[key.kind]
        if count >= limit:
            raise TooManyRequests(
                f"Daily API request limit of {limit} reached; it resets at midnight UTC.",
                status=state.limits["status"],
            )
        state.usage[key.token] = [today, count + 1]

    @staticmethod
    def occupy(state: WCState, key: ApiKey) -> int:
        """A request of ``key`` is now in flight; returns its place among them (1-based)."""
        state.in_flight[key.token] = state.in_flight.get(key.token, 0) + 1
        return state.in_flight[key.token]

    @staticmethod
    def release(state: WCState, key: ApiKey) -> None:
        left = state.in_flight.get(key.token, 0) - 1
        if left > 0:
            state.in_flight[key.token] = left
        else:
            state.in_flight.pop(key.token, None)

    @staticmethod
    def admit(slot: int) -> None:
        """§3 (wc-limits, a page about API key limits): up to 20 concurrent requests, "excess
        may return rate limit errors" → the 21st request in flight on one key gets a 429. It is
        checked before the daily quota, so a refused request is not charged to it ([?])."""
        if slot > CONCURRENT:
            raise TooManyRequests(f"Too many concurrent requests (the limit is {CONCURRENT}).")

    # scope -----------------------------------------------------------------------------------
    def profile_scope(
        self,
        state: WCState,
        key: ApiKey,
        profile_id: Any,
        account_id: Any = None,
        *,
        required: bool = False,
    ) -> list[int]:
        """The profiles a request may see. §2: a profile key sees its one profile (profile_id
        and account_id are ignored); a master key sees all, narrowed by the filters."""
        if key.kind == "profile":
            return [key.profile_id] if key.profile_id is not None else []
        profiles = list(state.profiles)
        if account_id not in (None, ""):
            aid = _int(account_id, "account_id")
            if aid not in state.accounts:
                raise WCError("Invalid account_id parameter.")
            profiles = [p for p in profiles if state.profiles[p]["account_id"] == aid]
        if profile_id not in (None, ""):
            pid = _int(profile_id, "profile_id")
            if pid not in state.profiles:
                raise WCError("Invalid profile_id parameter.")
            profiles = [p for p in profiles if p == pid]
        elif required:
            raise WCError("profile_id is required when using an agency (master) key.")
        return profiles

    def require_master(self, key: ApiKey) -> None:
        if key.kind != "master":
            # §2 / wc-accounts: "Agency Key is required to access this resource" → 401
            raise Unauthorized("Agency Key is required to access this resource.")

    # leads -----------------------------------------------------------------------------------
    def list_leads(self, state: WCState, key: ApiKey, query: dict[str, str]) -> dict[str, Any]:
        profiles = set(
            self.profile_scope(state, key, query.get("profile_id"), query.get("account_id"))
        )
        per_page = _int(query.get("leads_per_page", PAGE_DEFAULT), "leads_per_page")
        if not 1 <= per_page <= PAGE_MAX:
            raise WCError(f"Invalid leads_per_page parameter: the maximum is {PAGE_MAX}.")
        page = _int(query.get("page_number", 1), "page_number")
        if page < 1:
            raise WCError("Invalid page_number parameter.")
        order = query.get("order", "desc")
        if order not in ("asc", "desc"):
            raise WCError("Invalid order parameter.")
        predicates = self._filters(query)
        leads = [
            lead
            for lead in state.leads.values()
            if lead["profile_id"] in profiles and all(p(lead) for p in predicates)
        ]
        leads.sort(
            key=lambda lead: (lead["date_created"], lead["lead_id"]), reverse=order == "desc"
        )
        total = len(leads)
        pages = (total + per_page - 1) // per_page
        chunk = leads[(page - 1) * per_page : page * per_page]
        journey = query.get("customer_journey") == "true"
        # §5.2 key order: page_number, leads_per_page, total_pages, total_leads, leads
        return {
            "page_number": page,
            "leads_per_page": per_page,
            "total_pages": pages,
            "total_leads": total,
            "leads": [self.lead_out(state, lead, journey) for lead in chunk],
        }

    def _filters(self, q: dict[str, str]) -> list[Any]:
        preds: list[Any] = []
        if q.get("lead_type"):
            if q["lead_type"] not in LEAD_TYPES:
                raise WCError("Invalid lead_type parameter.")
            preds.append(lambda lead, v=LEAD_TYPES[q["lead_type"]]: lead["lead_type"] == v)
        if q.get("lead_status"):
            if q["lead_status"] not in LEAD_STATUS:
                raise WCError("Invalid lead_status parameter.")
            preds.append(lambda lead, v=LEAD_STATUS[q["lead_status"]]: lead["lead_status"] == v)
        if q.get("quotable"):
            if q["quotable"] not in QUOTABLE:
                raise WCError("Invalid quotable parameter.")
            preds.append(lambda lead, v=QUOTABLE[q["quotable"]]: lead["quotable"] == v)
        for name in ("quote_value", "sales_value"):
            if q.get(name):
                if q[name] not in ("has_value", "no_value"):
                    raise WCError(f"Invalid {name} parameter.")
                want = q[name] == "has_value"
                preds.append(lambda lead, n=name, w=want: (lead.get(n) is not None) == w)
        if q.get("email_address"):
            email = q["email_address"].strip().lower()
            preds.append(
                lambda lead: (
                    email
                    in (
                        str(lead.get("email_address") or "").lower(),
                        str(lead.get("contact_email_address") or "").lower(),
                    )
                )
            )
        if q.get("phone_number"):
            digits = "".join(c for c in q["phone_number"] if c.isdigit())
            preds.append(
                lambda lead: (
                    digits
                    and digits
                    in (
                        "".join(c for c in str(lead.get("phone_number") or "") if c.isdigit()),
                        "".join(
                            c for c in str(lead.get("contact_phone_number") or "") if c.isdigit()
                        ),
                    )
                )
            )
        for name in (
            "user_id",
            "lead_source",
            "lead_medium",
            "lead_campaign",
            "lead_content",
            "lead_keyword",
        ):
            if q.get(name):
                preds.append(lambda lead, n=name, v=q[name]: lead.get(n) == v)
        for flag in ("spam", "duplicate"):
            if q.get(flag):
                if q[flag] not in ("true", "false"):
                    raise WCError(f"Invalid {flag} parameter.")
                preds.append(lambda lead, f=flag, v=q[flag] == "true": bool(lead.get(f)) == v)
        start = parse_date(q["start_date"], "start_date") if q.get("start_date") else None
        end = parse_date(q["end_date"], "end_date", end=True) if q.get("end_date") else None
        if start:
            # [C] §3 a range spans at most 400 days; [?] counted in calendar days between the
            # two dates (2025-01-01..2026-02-05 is 400), and a start_date alone is measured up
            # to now (an end_date alone sets no start, so no span)
            last = end or self.kernel.clock.now()
            if end and start > end:
                raise WCError("Invalid date range: start_date is after end_date.")
            if (last.date() - start.date()).days > RANGE_DAYS:
                raise WCError(f"Invalid date range: it may span at most {RANGE_DAYS} days.")
        if start:
            preds.append(lambda lead: lead["date_created"] >= stamp(start))
        if end:
            preds.append(lambda lead: lead["date_created"] <= stamp(end))
        return preds

    def lead_out(self, state: WCState, lead: dict[str, Any], journey: bool = False) -> dict:
        out = dict(lead)
        if journey:
            out["customer_journey"] = [
                {
                    "type": "attribution",
                    "lead_source": lead.get("lead_source"),
                    "lead_medium": lead.get("lead_medium"),
                    "landing_url": lead.get("landing_url"),
                    "date": lead["date_created"],
                },
                {
                    "type": "lead",
                    "lead_type": lead["lead_type"],
                    "lead_url": lead.get("lead_url"),
                    "date": lead["date_created"],
                },
            ]
        return out

    def get_lead(self, state: WCState, key: ApiKey, lead_id: str) -> dict[str, Any]:
        """§5.3 unknown id, or a lead outside the key's profiles → 400 "Invalid lead ID."."""
        try:
            lead = state.leads[int(lead_id)]
        except (KeyError, ValueError):
            raise WCError("Invalid lead ID.") from None
        if lead["profile_id"] not in self.profile_scope(state, key, None):
            raise WCError("Invalid lead ID.")
        return lead

    def create_lead(
        self,
        tenant: str,
        state: WCState,
        key: ApiKey,
        form: dict[str, Any],
        check: Callable[[], None] = lambda: None,
    ) -> dict[str, Any]:
        """§5.4: lead_type required; profile_id required with an agency key; default fields
        only (an unknown field is refused with 400 naming it — [?] the fake's choice).
        ``check`` runs after these rules and before anything is stored (the spec catch-all)."""
        scope = self.profile_scope(state, key, form.get("profile_id"), required=True)
        if not scope:
            raise WCError("Invalid profile_id parameter.")
        profile_id = scope[0]
        lead_type = form.get("lead_type")
        if lead_type not in LEAD_TYPES:
            raise WCError("Invalid lead_type parameter.")
        allowed = (
            COMMON_FIELDS
            | TYPE_FIELDS[lead_type]
            | {"profile_id", "lead_type", "send_notification", *MAPS}
        )
        for name in form:
            if name not in allowed:
                other = [t for t, fields in TYPE_FIELDS.items() if name in fields]
                why = (
                    f"it applies to lead_type {', '.join(other)}"
                    if other
                    else "it is not a WhatConverts default field"
                )
                raise WCError(f"Invalid parameter '{name}': {why}.")
        now = self.kernel.clock.now()
        created = (
            parse_date(form["date_created"], "date_created") if form.get("date_created") else now
        )
        if created > now:
            # [?] §5.4 date_created defaults to now; the fake refuses a lead from the future
            raise WCError("Invalid date_created parameter: it is in the future.")
        if form.get("send_notification") not in (None, "", "true", "false", True, False):
            raise WCError("Invalid send_notification parameter.")
        lead = self.new_lead(state, profile_id, lead_type, created)
        self._apply_values(
            lead,
            {
                k: v
                for k, v in form.items()
                if k not in ("profile_id", "lead_type", "send_notification", "date_created")
            },
        )
        lead["last_updated"] = lead["date_created"]
        check()
        self.store_lead(state, lead)
        self.notify(tenant, state, lead, "new")
        return lead

    def new_lead(
        self, state: WCState, profile_id: int, lead_type: str, created: datetime
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

    @staticmethod
    def store_lead(state: WCState, lead: dict[str, Any]) -> None:
        state.leads[lead["lead_id"]] = lead
        state.next_ids["lead"] = max(state.next_ids["lead"], lead["lead_id"] + 1)

    def _apply_values(self, lead: dict[str, Any], values: dict[str, Any]) -> None:
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

    def edit_lead(
        self,
        tenant: str,
        state: WCState,
        key: ApiKey,
        lead_id: str,
        form: dict[str, Any],
        check: Callable[[], None] = lambda: None,
    ) -> dict[str, Any]:
        """§5.5: only quotable, quote_value, sales_value, lead_url (and additional/custom
        fields) can change. Any other field: 400 naming it, and the lead is left unchanged
        ([?] the vendor's answer is unknown; the fake refuses rather than silently ignoring)."""
        lead = self.get_lead(state, key, lead_id)
        changes = {k: v for k, v in form.items() if k != "profile_id"}
        refused = [k for k in changes if k not in EDITABLE and k not in MAPS]
        if refused:
            raise WCError(
                f"Field '{refused[0]}' cannot be updated: only quotable, quote_value, "
                "sales_value, lead_url and additional_fields can be changed."
            )
        if not changes:
            raise WCError("At least one field to update is required.")
        updated = copy.deepcopy(lead)
        self._apply_values(updated, changes)  # raises before anything is stored
        check()
        if updated == lead:
            # [I] §5.5 same values twice = same state: nothing changed, so last_updated stays
            # and no Update webhook fires (a workflow updating its own trigger lead stops here)
            return lead
        updated["last_updated"] = stamp(self.kernel.clock.now())
        state.leads[lead["lead_id"]] = updated
        self.notify(tenant, state, updated, "update")
        return updated

    # webhooks ------------------------------------------------------------------------------
    def add_webhook(self, state: WCState, body: dict[str, Any]) -> dict[str, Any]:
        profile_id = _int(body.get("profile_id", state.demo.get("profile_id")), "profile_id")
        if profile_id not in state.profiles:
            raise ValueError(f"no profile {profile_id}")
        url = body.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError("url must be an http(s) URL")
        account = state.accounts[state.profiles[profile_id]["account_id"]]
        # §7 (wc-hipaa): HIPAA-enabled accounts refuse webhooks to non-HTTPS URLs; the sandbox
        # allows http:// on loopback only (DESIGN.md).
        if account.get("hipaa") and url.startswith("http://") and not is_loopback_url(url):
            raise ValueError("this account is HIPAA-enabled: webhook URLs must use HTTPS")
        triggers = body.get("triggers") or ["new", "update"]
        if not set(triggers) <= {"new", "update"}:
            raise ValueError("triggers are 'new' and/or 'update'")
        lead_types = body.get("lead_types") or []
        if not set(lead_types) <= set(LEAD_TYPES):
            raise ValueError(f"lead_types must be among {', '.join(LEAD_TYPES)}")
        hook = {
            "id": state.next_ids["webhook"],
            "profile_id": profile_id,
            "url": url,
            "triggers": list(triggers),
            "lead_types": list(lead_types),
        }
        state.next_ids["webhook"] += 1
        state.webhooks.append(hook)
        return hook

    def notify(self, tenant: str, state: WCState, lead: dict[str, Any], trigger: str) -> None:
        """§7: POST the flat lead JSON plus ``"trigger"`` to the profile's webhooks."""
        snake = next(k for k, v in LEAD_TYPES.items() if v == lead["lead_type"])
        for hook in state.webhooks:
            if hook["profile_id"] != lead["profile_id"] or trigger not in hook["triggers"]:
                continue
            if hook["lead_types"] and snake not in hook["lead_types"]:
                continue
            self.kernel.webhooks.enqueue(
                hook["url"],
                {**lead, "trigger": trigger},
                event=trigger,
                tenant=tenant,
                correlation_id=correlation_id.get(),
                meta={"webhook_id": hook["id"]},
            )


def _int(value: Any, name: str) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise WCError(f"Invalid {name} parameter.") from None


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
