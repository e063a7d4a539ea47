"""The WhatConverts backend: the facade the HTTP layer, the admin routes and the tests use. It
keeps the kernel's hooks (seed, export/import) and hands each rule to the part that owns it,
moto-style; every rule cites its source in docs/vendors/whatconverts.md (§ numbers):

- state.py: the per-tenant state, the §3 limits, dates and numbers;
- access.py: API keys, the daily quota, concurrency and the profiles a key sees;
- fields.py: lead types, their fields and how values are written onto a lead;
- leads.py: list, get, create and edit leads;
- webhooks.py: a profile's lead webhooks;
- accounts.py: accounts and profiles (agency key).

The state classes live in state.py (not here) so the parts can build them without importing
this facade, which imports the parts; they are re-exported here.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from careflow.mocks.kernel import Backend, Synthetic

from .access import Access
from .errors import WCError
from .fields import (
    ANSWER_STATUS,
    COMMON_FIELDS,
    EDITABLE,
    LEAD_STATUS,
    LEAD_TYPES,
    MAPS,
    NUMBERS,
    QUOTABLE,
    TYPE_FIELDS,
    TYPE_RESPONSE_FIELDS,
)
from .leads import Leads
from .state import (
    ADMIN_PAGE_MAX,
    CONCURRENT,
    MASTER_DAILY,
    PAGE_DEFAULT,
    PAGE_MAX,
    PROFILE_DAILY,
    RANGE_DAYS,
    ApiKey,
    WCState,
    parse_date,
    stamp,
)
from .webhooks import Webhooks

__all__ = [
    "ADMIN_PAGE_MAX",
    "ANSWER_STATUS",
    "COMMON_FIELDS",
    "CONCURRENT",
    "EDITABLE",
    "LEAD_STATUS",
    "LEAD_TYPES",
    "MAPS",
    "MASTER_DAILY",
    "NUMBERS",
    "PAGE_DEFAULT",
    "PAGE_MAX",
    "PROFILE_DAILY",
    "QUOTABLE",
    "RANGE_DAYS",
    "TYPE_FIELDS",
    "TYPE_RESPONSE_FIELDS",
    "ApiKey",
    "WCError",
    "WCState",
    "WhatConvertsBackend",
    "parse_date",
    "stamp",
]


class WhatConvertsBackend(Backend[WCState]):
    service = "whatconverts"
    seed_keys = frozenset({"synthetic", "leads"})
    collections = frozenset({"leads"})
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

    def __init__(self, kernel: Any) -> None:
        super().__init__(kernel)
        self.access = Access(self)
        self.leads = Leads(self)
        self.hooks = Webhooks(self)

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

    # the parts, under the names the HTTP layer and the seed call ------------------------------
    def authenticate(self, header: str | None) -> tuple[str, WCState, ApiKey]:
        return self.access.authenticate(header)

    def count_request(self, state: WCState, key: ApiKey) -> None:
        self.access.count_request(state, key)
        self.changed(state, "usage")  # the daily quota counts every call

    @staticmethod
    def occupy(state: WCState, key: ApiKey) -> int:
        return Access.occupy(state, key)

    @staticmethod
    def release(state: WCState, key: ApiKey) -> None:
        Access.release(state, key)

    @staticmethod
    def admit(slot: int) -> None:
        Access.admit(slot)

    def require_master(self, key: ApiKey) -> None:
        self.access.require_master(key)

    def list_leads(self, state: WCState, key: ApiKey, query: dict[str, str]) -> dict[str, Any]:
        return self.leads.list_leads(state, key, query)

    def lead_out(
        self, state: WCState, lead: dict[str, Any], journey: bool = False, *, scoped: bool = True
    ) -> dict:
        return self.leads.lead_out(state, lead, journey, scoped=scoped)

    def get_lead(self, state: WCState, key: ApiKey, lead_id: str) -> dict[str, Any]:
        return self.leads.get_lead(state, key, lead_id)

    def create_lead(
        self,
        tenant: str,
        state: WCState,
        key: ApiKey,
        form: dict[str, Any],
        check: Callable[[], None] = lambda: None,
    ) -> dict[str, Any]:
        lead = self.leads.create_lead(tenant, state, key, form, check)
        self.changed(state, "leads", lead["lead_id"])
        self.changed(state, "next_ids")
        return lead

    def edit_lead(
        self,
        tenant: str,
        state: WCState,
        key: ApiKey,
        lead_id: str,
        form: dict[str, Any],
        check: Callable[[], None] = lambda: None,
    ) -> dict[str, Any]:
        lead = self.leads.edit_lead(tenant, state, key, lead_id, form, check)
        self.changed(state, "leads", lead["lead_id"])
        return lead

    def add_webhook(self, state: WCState, body: dict[str, Any]) -> dict[str, Any]:
        hook = self.hooks.add(state, body)
        self.changed(state, "webhooks")
        self.changed(state, "next_ids")
        return hook

    def accounts_changed(self, tenant: str, state: WCState, *, deleted: bool = False) -> None:
        """An agency-key write (accounts.py): a deletion takes leads with it (rare: the tenant
        is written whole); anything else changes accounts, profiles and their ids."""
        if deleted:
            self.changed_tenant(tenant)
            return
        for section in ("accounts", "profiles", "next_ids"):
            self.changed(state, section)
