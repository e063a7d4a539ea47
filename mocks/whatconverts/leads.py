"""Leads: list (filters, order, pages), get, create and edit, with the webhooks each change
fires ([C] whatconverts.md §5)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import recordings
from .errors import WCError
from .fields import (
    COMMON_FIELDS,
    EDITABLE,
    LEAD_STATUS,
    LEAD_TYPES,
    MAPS,
    QUOTABLE,
    TYPE_FIELDS,
    apply_values,
    blank_lead,
)
from .lead_index import index_of, note_stored
from .state import PAGE_DEFAULT, PAGE_MAX, RANGE_DAYS, ApiKey, WCState, int_param, parse_date, stamp

if TYPE_CHECKING:
    from .models import WhatConvertsBackend


class Leads:
    """The leads API of one backend. Every write checks the whole request before it stores
    anything."""

    def __init__(self, backend: WhatConvertsBackend) -> None:
        self.backend = backend

    def list_leads(self, state: WCState, key: ApiKey, query: dict[str, str]) -> dict[str, Any]:
        profiles = set(
            self.backend.access.profile_scope(
                state, key, query.get("profile_id"), query.get("account_id")
            )
        )
        per_page = int_param(query.get("leads_per_page", PAGE_DEFAULT), "leads_per_page")
        if not 1 <= per_page <= PAGE_MAX:
            raise WCError(f"Invalid leads_per_page parameter: the maximum is {PAGE_MAX}.")
        page = int_param(query.get("page_number", 1), "page_number")
        if page < 1:
            raise WCError("Invalid page_number parameter.")
        order = query.get("order", "desc")
        if order not in ("asc", "desc"):
            raise WCError("Invalid order parameter.")
        predicates = self._filters(query)
        if predicates:
            leads = [
                lead
                for lead in state.leads.values()
                if lead["profile_id"] in profiles and all(p(lead) for p in predicates)
            ]
            leads.sort(
                key=lambda lead: (lead["date_created"], lead["lead_id"]), reverse=order == "desc"
            )
            total = len(leads)
            chunk = leads[(page - 1) * per_page : page * per_page]
        else:  # no filter: the index gives the page in list order, at the cost of the page
            total, ids = index_of(state).page(
                profiles, (page - 1) * per_page, per_page, descending=order == "desc"
            )
            chunk = [state.leads[lead_id] for lead_id in ids]
        pages = (total + per_page - 1) // per_page
        journey = query.get("customer_journey") == "true"
        scoped = key.kind == "profile" or query.get("profile_id") not in (None, "")
        # §5.2 key order: page_number, leads_per_page, total_pages, total_leads, leads
        return {
            "page_number": page,
            "leads_per_page": per_page,
            "total_pages": pages,
            "total_leads": total,
            "leads": [self.lead_out(state, lead, journey, scoped=scoped) for lead in chunk],
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
            last = end or self.backend.kernel.clock.now()
            if end and start > end:
                raise WCError("Invalid date range: start_date is after end_date.")
            if (last.date() - start.date()).days > RANGE_DAYS:
                raise WCError(f"Invalid date range: it may span at most {RANGE_DAYS} days.")
        if start:
            preds.append(lambda lead: lead["date_created"] >= stamp(start))
        if end:
            preds.append(lambda lead: lead["date_created"] <= stamp(end))
        return preds

    def lead_out(
        self, state: WCState, lead: dict[str, Any], journey: bool = False, *, scoped: bool = True
    ) -> dict:
        """A lead as an answer shows it. ``scoped``: the request used a profile key or named a
        ``profile_id``; without that ``custom_fields`` is left out ([C] §6.1, the w6w client's
        field list: "Custom fields (Profile Key or profile_id only)"). Audio links point at the
        host the request reached (recordings.py)."""
        out = recordings.on_origin(lead)
        out = dict(out) if out is lead else out
        if not scoped:
            out.pop("custom_fields", None)
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
        if lead["profile_id"] not in self.backend.access.profile_scope(state, key, None):
            raise WCError("Invalid lead ID.")
        return lead

    def recording(self, state: WCState, key: ApiKey, lead_id: str | None) -> bytes:
        """[C] §1, §5 ``GET /recording?lead_id=``: the call's MP3 (recordings.py for the fake's
        choices): a bad or foreign id → 400 "Invalid lead ID." ([O] §4), a lead without audio
        → 404."""
        lead = self.get_lead(state, key, lead_id or "")
        if recordings.audio_token(lead) is None:
            raise WCError("No recording found for this lead.", status=404)
        return recordings.synthetic_mp3(lead)

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
        scope = self.backend.access.profile_scope(state, key, form.get("profile_id"), required=True)
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
        now = self.backend.kernel.clock.now()
        created = (
            parse_date(form["date_created"], "date_created") if form.get("date_created") else now
        )
        if created > now:
            # [?] §5.4 date_created defaults to now; the fake refuses a lead from the future
            raise WCError("Invalid date_created parameter: it is in the future.")
        if form.get("send_notification") not in (None, "", "true", "false", True, False):
            raise WCError("Invalid send_notification parameter.")
        lead = blank_lead(state, profile_id, lead_type, created)
        apply_values(
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
        self.backend.hooks.notify(tenant, state, lead, "new")
        return lead

    @staticmethod
    def store_lead(state: WCState, lead: dict[str, Any]) -> None:
        old = state.leads.get(lead["lead_id"])
        state.leads[lead["lead_id"]] = lead
        note_stored(state, lead, old)
        state.next_ids["lead"] = max(state.next_ids["lead"], lead["lead_id"] + 1)

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
        apply_values(updated, changes)  # raises before anything is stored
        check()
        if updated == lead:
            # [I] §5.5 same values twice = same state: nothing changed, so last_updated stays
            # and no Update webhook fires (a workflow updating its own trigger lead stops here)
            return lead
        updated["last_updated"] = stamp(self.backend.kernel.clock.now())
        self.store_lead(state, updated)
        self.backend.hooks.notify(tenant, state, updated, "update")
        return updated
