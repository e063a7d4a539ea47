"""Lead webhooks: the sandbox's registration of a profile's webhooks and the POST each new or
updated lead sends ([C] whatconverts.md §7)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from careflow.mocks.kernel import correlation_id, is_loopback_url

from . import recordings
from .fields import LEAD_TYPES
from .state import WCState, int_param

if TYPE_CHECKING:
    from .models import WhatConvertsBackend


class Webhooks:
    """A profile's lead webhooks, sent through the kernel's WebhookSender."""

    def __init__(self, backend: WhatConvertsBackend) -> None:
        self.backend = backend

    def add(self, state: WCState, body: dict[str, Any]) -> dict[str, Any]:
        profile_id = int_param(body.get("profile_id", state.demo.get("profile_id")), "profile_id")
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
            self.backend.kernel.webhooks.enqueue(
                hook["url"],
                {**recordings.on_origin(lead), "trigger": trigger},
                event=trigger,
                tenant=tenant,
                correlation_id=correlation_id.get(),
                meta={"webhook_id": hook["id"]},
            )
