"""Outgoing webhooks: the v3 management rules ([C] caspio.md §8.1) for webhooks and their
events. The messages they send are messages.py."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from careflow.mocks.kernel.guard import is_loopback_host

from . import payloads
from .errors import BadBody, NotFound
from .state import iso

if TYPE_CHECKING:
    from .models import CaspioBackend
    from .state import CaspioState, Profile

PLAN_MAX_THROTTLING = 100  # [?] §8.1 plan maximum CallThrottling: the fake's choice
EVENT_TYPES = {"table.recordInsert", "table.recordUpdate", "table.recordDelete"}  # [C] §8.1
EVENT_SOURCES = {
    "Datasheet",
    "DataPages",
    "RESTAPIs",
    "TriggeredActions",
    "Tasks",
    "DataParts",
    "Extensions",
}
WEBHOOK_KEYS = (
    "Id",
    "Status",
    "Name",
    "Description",
    "OutgoingUrls",
    "CallThrottling",
    "LastModified",
    "ModifiedBy",
    "DateCreated",
    "CreatedBy",
)


class Webhooks:
    """Create, read, update and delete webhooks and their events, by the §8.1 rules."""

    def __init__(self, backend: CaspioBackend) -> None:
        self.backend = backend

    # validation ------------------------------------------------------------------------------
    def _urls(self, state: CaspioState, urls: Any, own: str | None) -> list[str]:
        """[C] §8.1 OutgoingUrls: required, unique across webhooks, HTTPS (sandbox exception:
        http:// on loopback, DESIGN.md); more than one only with multicast ([?] the fake's
        plan has multicast)."""
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
            raise BadBody("OutgoingUrls is required and must be an array of URLs.")
        for url in urls:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
            loopback = is_loopback_host(host)
            if not parts.netloc or not (
                parts.scheme == "https" or (parts.scheme == "http" and loopback)
            ):
                raise BadBody(f"Outgoing URL '{url}' must use HTTPS.")
            for hook in state.webhooks.values():
                if hook["Id"] != own and url in hook["OutgoingUrls"]:
                    raise BadBody("Webhook with this URL already exists.")  # [O] §6.3 400
        return list(dict.fromkeys(urls))

    def _name(self, state: CaspioState, name: Any, own: str | None) -> str:
        if not isinstance(name, str) or not name.strip() or len(name) > 255:
            raise BadBody("Name is required.")
        for hook in state.webhooks.values():
            if hook["Id"] != own and hook["Name"].lower() == name.lower():
                raise BadBody(f"Webhook with the name '{name}' already exists.")
        return name

    @staticmethod
    def _throttling(value: Any) -> int:
        if value is None:
            return PLAN_MAX_THROTTLING  # [C] §8.1 default = plan maximum
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not 0 < value <= PLAN_MAX_THROTTLING
        ):
            raise BadBody(f"CallThrottling must be between 1 and {PLAN_MAX_THROTTLING}.")
        return value

    # webhooks --------------------------------------------------------------------------------
    def create(self, state: CaspioState, profile: Profile | None, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise BadBody("Required body parameter absent or has incorrect format")
        with state.lock:
            name = self._name(state, body.get("Name"), None)
            urls = self._urls(state, body.get("OutgoingUrls"), None)
            desc = body.get("Description") or ""
            if not isinstance(desc, str):
                raise BadBody("Description must be a string.")
            now = iso(self.backend.kernel.clock.now())
            creator = profile.name if profile else "sandbox admin"
            hook = {
                "Id": state.next_id(),
                "Status": "Active",
                "Name": name,
                "Description": desc,
                "OutgoingUrls": urls,
                "CallThrottling": self._throttling(body.get("CallThrottling")),
                "Secret": uuid.uuid5(uuid.NAMESPACE_URL, f"{state.account_id}/{state.counter}").hex,
                "LastModified": now,
                "ModifiedBy": creator,
                "DateCreated": now,
                "CreatedBy": creator,
                "Profile": profile.name if profile else None,  # who created it (orphans)
                "ProfileClientId": profile.client_id if profile else None,
                "Events": {},
            }
            state.webhooks[hook["Id"]] = hook
            self.backend.hook_changed(state, hook["Id"])
        out = self.public(hook)
        out["Secret"] = hook["Secret"]  # [C] §8.3: Secret only in the create response
        return out

    @staticmethod
    def public(hook: dict[str, Any], detail: bool = False) -> dict[str, Any]:
        out = {k: hook[k] for k in WEBHOOK_KEYS}
        if detail:
            out.update(
                Events=len(hook["Events"]),
                Messages=hook.get("Messages", 0),
                Calls=hook.get("Calls", 0),
                Errors=0,
            )
        return out

    def get(self, state: CaspioState, hook_id: str) -> dict[str, Any]:
        hook = state.webhooks.get(hook_id)
        if hook is None:
            raise NotFound("Requested object not found")
        return hook

    def update(
        self, state: CaspioState, profile: Profile, hook_id: str, body: Any
    ) -> dict[str, Any]:
        hook = self.get(state, hook_id)
        keys = {"Name", "Description", "OutgoingUrls", "CallThrottling", "Enabled"}
        if not isinstance(body, dict) or not keys & set(body):
            raise BadBody(
                "At least one of Name, Description, OutgoingUrls, CallThrottling, Enabled."
            )
        with state.lock:
            changes: dict[str, Any] = {}
            if "Name" in body:
                changes["Name"] = self._name(state, body["Name"], hook_id)
            if "OutgoingUrls" in body:
                changes["OutgoingUrls"] = self._urls(state, body["OutgoingUrls"], hook_id)
            if "CallThrottling" in body:
                changes["CallThrottling"] = self._throttling(body["CallThrottling"])
            if "Description" in body:
                if not isinstance(body["Description"], str | None):
                    raise BadBody("Description must be a string.")
                changes["Description"] = body["Description"] or ""
            if "Enabled" in body:
                if not isinstance(body["Enabled"], bool):
                    raise BadBody("Enabled must be a boolean.")
                status = "Active" if body["Enabled"] else "Inactive"
                changes["Status"] = status
                for ev in hook["Events"].values():  # [C] §8.1 Enabled switches all its events
                    ev["Status"] = status
            hook.update(changes)
            hook["LastModified"] = iso(self.backend.kernel.clock.now())
            hook["ModifiedBy"] = profile.name
            self.backend.hook_changed(state, hook_id)
        return self.public(hook)

    def delete(self, state: CaspioState, hook_id: str) -> None:
        with state.lock:
            if state.webhooks.pop(hook_id, None) is None:
                raise NotFound("Requested object not found")  # [O] §6.3 404
            self.backend.hook_changed(state, hook_id)

    def orphans(self, state: CaspioState) -> list[dict[str, Any]]:
        """Webhooks whose creating profile no longer exists."""
        return [
            self.public(h)
            for h in state.webhooks.values()
            if h.get("Profile") and h["Profile"] not in state.profiles
        ]

    # events ------------------------------------------------------------------------------------
    def _event_fields(
        self, state: CaspioState, hook: dict[str, Any], body: Any, own: str | None
    ) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise BadBody("Required body parameter absent or has incorrect format")
        etype = body.get("EventType")
        if etype not in EVENT_TYPES:
            raise BadBody(
                "EventType must be table.recordInsert, table.recordUpdate or table.recordDelete."
            )
        obj = body.get("ObjectName")
        if not isinstance(obj, str) or obj.lower() not in state.tables:
            raise BadBody("ObjectName must be the name of a table.")
        table = state.tables[obj.lower()]
        lists: dict[str, list[str]] = {}
        for key in ("ObjectFields", "EventSources", "CustomPayloadFields"):
            value = body.get(key) or []
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise BadBody(f"{key} must be an array of strings.")
            lists[key] = value
        if lists["ObjectFields"] and etype != "table.recordUpdate":
            raise BadBody("ObjectFields applies only to table.recordUpdate.")
        for name in lists["ObjectFields"] + lists["CustomPayloadFields"]:
            if name.upper() != "PK_ID" and table.field(name) is None:
                raise BadBody(f"Field '{name}' does not exist in '{table.name}'.")
        bad = [s for s in lists["EventSources"] if s not in EVENT_SOURCES]
        if bad:
            raise BadBody(f"Unknown EventSources: {', '.join(bad)}.")
        template = body.get("CustomPayloadTemplate")
        if template is not None and not isinstance(template, str):
            raise BadBody("CustomPayloadTemplate must be a string.")
        if template:  # [C] §8.1-8.2 placeholders; the fake's checks are payloads.py's
            try:
                payloads.check(
                    template,
                    {f["Name"].lower(): f["Type"] for f in table.fields},
                    set(table.passwords()),
                )
            except payloads.TemplateError as exc:
                raise BadBody(str(exc)) from None
        enabled = body.get("Enabled", True)
        if not isinstance(enabled, bool):
            raise BadBody("Enabled must be a boolean.")
        # [C] §8.1 (sources [P4], [P10]): per table one insert, one delete, and either one
        # update for all fields or several for different columns; no two events with the same
        # configuration.
        fields = sorted(f.lower() for f in lists["ObjectFields"])
        for ev in hook["Events"].values():
            if ev["Id"] == own or ev["Type"] != etype or ev["ObjectName"].lower() != obj.lower():
                continue
            theirs = sorted(f.lower() for f in ev["ObjectFields"])
            if etype != "table.recordUpdate" or not fields or not theirs or fields == theirs:
                raise BadBody("An event with this configuration already exists for this webhook.")
        return {
            "Type": etype,
            "Status": "Active" if enabled else "Inactive",
            "ObjectName": table.name,
            "ObjectId": table.name,
            **lists,
            "CustomPayloadTemplate": template,
        }

    def add_event(
        self, state: CaspioState, profile: Profile | None, hook_id: str, body: Any
    ) -> dict[str, Any]:
        hook = self.get(state, hook_id)
        with state.lock:
            ev = self._event_fields(state, hook, body, None)
            now = iso(self.backend.kernel.clock.now())
            creator = profile.name if profile else "sandbox admin"
            ev = {
                "Id": state.next_id(),
                **ev,
                "LastModified": now,
                "ModifiedBy": creator,
                "DateCreated": now,
                "CreatedBy": creator,
            }
            hook["Events"][ev["Id"]] = ev
            self.backend.hook_changed(state, hook_id)
        return {k: v for k, v in ev.items() if k not in ("LastModified", "ModifiedBy")}

    def event(self, state: CaspioState, hook_id: str, event_id: str) -> dict[str, Any]:
        ev = self.get(state, hook_id)["Events"].get(event_id)
        if ev is None:
            raise NotFound("Requested object not found")
        return ev

    def update_event(
        self, state: CaspioState, profile: Profile, hook_id: str, event_id: str, body: Any
    ) -> dict[str, Any]:
        hook = self.get(state, hook_id)
        ev = self.event(state, hook_id, event_id)
        with state.lock:
            ev.update(self._event_fields(state, hook, body, event_id))
            ev["LastModified"] = iso(self.backend.kernel.clock.now())
            ev["ModifiedBy"] = profile.name
            self.backend.hook_changed(state, hook_id)
        return dict(ev)

    def delete_event(self, state: CaspioState, hook_id: str, event_id: str) -> None:
        hook = self.get(state, hook_id)
        with state.lock:
            if hook["Events"].pop(event_id, None) is None:
                raise NotFound("Requested object not found")
            self.backend.hook_changed(state, hook_id)
