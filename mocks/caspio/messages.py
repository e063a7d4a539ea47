"""Webhook messages: what Caspio POSTs when a record changes ([C] caspio.md §8.2), paced by
each webhook's CallThrottling ([C] §8.4), counted on the meter ([O] §7) and sent through the
kernel's WebhookSender (log, attempts, redelivery)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from careflow.mocks.kernel.core import correlation_id

from . import payloads
from .meter import count_call
from .state import iso

if TYPE_CHECKING:
    from .models import CaspioBackend
    from .state import CaspioState, Table

ONE_SECOND = timedelta(seconds=1)


class Messages:
    """The messages of one backend's webhooks: which events match a change, and when each
    call may go out."""

    def __init__(self, backend: CaspioBackend) -> None:
        self.backend = backend
        # CallThrottling pacing per webhook: id(hook) → (hook, window start, calls in it)
        self._pace: dict[int, tuple[dict[str, Any], datetime, int]] = {}

    def _slot(self, hook: dict[str, Any], now: datetime) -> datetime:
        """When the next call of ``hook`` may go out. [C] §8.4: CallThrottling is the most
        calls per second; extra messages are queued and sent in later one-second batches
        ([I] a batch's second starts at its first call, on the virtual clock)."""
        entry = self._pace.get(id(hook))
        start, used = (entry[1], entry[2]) if entry and entry[0] is hook else (now, 0)
        if now >= start + ONE_SECOND:
            start, used = now, 0
        if used >= hook["CallThrottling"]:
            start, used = start + ONE_SECOND, 0
        self._pace[id(hook)] = (hook, start, used + 1)
        return max(start, now)

    def fire(
        self,
        tenant: str,
        state: CaspioState,
        table: Table,
        etype: str,
        changes: list[tuple[dict[str, Any] | None, dict[str, Any] | None]],
        source: str = "RESTAPIs",
    ) -> int:
        """One message per changed record per matching event ([I] §8.2), to every URL."""
        sent = 0
        kernel = self.backend.kernel
        for hook in list(state.webhooks.values()):
            if hook["Status"] != "Active":
                continue
            for ev in list(hook["Events"].values()):
                if ev["Status"] != "Active" or ev["Type"] != etype:
                    continue
                if ev["ObjectName"].lower() != table.name.lower():
                    continue
                if ev["EventSources"] and source not in ev["EventSources"]:
                    continue
                for before, after in changes:
                    row = after if after is not None else before
                    assert row is not None
                    if etype == "table.recordUpdate" and not _changed(
                        table, before, after, ev["ObjectFields"]
                    ):
                        continue  # [C] §8.2: recordUpdate only when a value changes
                    data = {k: v for k, v in row.items() if not _is_password(table, k)}
                    row_data = dict(data)
                    if ev["CustomPayloadFields"]:
                        keep = {f.lower() for f in ev["CustomPayloadFields"]} | {"pk_id"}
                        data = {k: v for k, v in data.items() if k.lower() in keep}
                    message = {
                        "eventId": ev["Id"],
                        "messageId": self._guid(state, "m"),
                        "webhookId": hook["Id"],
                        "accountId": state.account_id,
                        "secret": hook["Secret"],
                        "eventDate": iso(kernel.clock.now()),
                        "eventType": etype,
                        "objectName": table.name,
                        "data": [data],
                    }
                    template = ev.get("CustomPayloadTemplate")
                    for url in hook["OutgoingUrls"]:
                        body: Any = message
                        if template:
                            # [C] §8.1-8.2: the event's template makes the body (payloads.py)
                            meta = {**message, "callId": self._guid(state, "c")}
                            body = payloads.render(payloads.parse(template), meta, row_data)
                        slot = self._slot(hook, kernel.clock.now())
                        # [O] §7 webhooks share the meter; never refused (the change is made)
                        count_call(state, 1, refuse=False)
                        hook["Messages"] = hook.get("Messages", 0) + 1
                        hook["Calls"] = hook.get("Calls", 0) + 1
                        kernel.webhooks.enqueue(
                            url,
                            body,
                            event=etype,
                            tenant=tenant,
                            headers={"Content-Type": "application/json"},
                            correlation_id=correlation_id.get(),
                            meta={
                                "webhookId": hook["Id"],
                                "eventId": ev["Id"],
                                "CallThrottling": hook["CallThrottling"],
                            },
                            not_before=slot,
                        )
                        sent += 1
        return sent

    @staticmethod
    def _guid(state: CaspioState, kind: str) -> str:
        """A GUID ([O] §8.1 messageId is a GUID), deterministic for the tenant."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{state.account_id}/{kind}/{state.next_id()}"))


def _is_password(table: Table, name: str) -> bool:
    f = table.field(name)
    return f is not None and f["Type"] == "PASSWORD"


def _changed(
    table: Table, before: dict[str, Any] | None, after: dict[str, Any] | None, fields: list[str]
) -> bool:
    if before is None or after is None:
        return True
    watch = {f.lower() for f in fields}
    # automatic TIMESTAMP (OnUpdate) values are not a user's change
    auto = {f["Name"] for f in table.fields if f["Type"] == "TIMESTAMP"}
    return any(
        before.get(k) != v
        for k, v in after.items()
        if k not in auto and (not watch or k.lower() in watch)
    )
