"""Who may call and how much: HTTP Basic API keys, the daily quota and concurrency limits of
each key, and the profiles a key may see ([C] whatconverts.md §2, §3)."""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

from .errors import TooManyRequests, Unauthorized, WCError
from .state import CONCURRENT, ApiKey, WCState, int_param

if TYPE_CHECKING:
    from .models import WhatConvertsBackend


class Access:
    """Authentication, quota, concurrency and scope of the API keys of one backend."""

    def __init__(self, backend: WhatConvertsBackend) -> None:
        self.backend = backend

    def authenticate(self, header: str | None) -> tuple[str, WCState, ApiKey]:
        """§2 HTTP Basic token:secret; two 401 messages."""
        if not header or not header.lower().startswith("basic "):
            raise Unauthorized("Authentication not provided.")
        try:
            token, _, secret = base64.b64decode(header[6:].strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthorized("Authentication failed.") from None
        tenant = self.backend.tenant_for(token)
        if tenant is None:
            raise Unauthorized("Authentication failed.")
        state = self.backend.state(tenant)
        key = state.keys.get(token)
        if key is None or key.secret != secret:
            raise Unauthorized("Authentication failed.")
        return tenant, state, key

    def count_request(self, state: WCState, key: ApiKey) -> None:
        """§3 daily quota per key, reset at midnight UTC (virtual clock)."""
        today = self.backend.kernel.clock.now().date().isoformat()
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
            aid = int_param(account_id, "account_id")
            if aid not in state.accounts:
                raise WCError("Invalid account_id parameter.")
            profiles = [p for p in profiles if state.profiles[p]["account_id"] == aid]
        if profile_id not in (None, ""):
            pid = int_param(profile_id, "profile_id")
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
