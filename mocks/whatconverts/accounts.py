"""WhatConverts accounts and profiles (agency key only): state rules and their output shapes.

[C] whatconverts.md §10: an account is ``{account_id, account_name, date_created, profiles}``,
a profile ``{profile_id, profile_name, date_created}``; §3: ``*_per_page`` ≤ 250, default 25;
§2: "Agency Key is required to access this resource".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .errors import WCError
from .state import ADMIN_PAGE_MAX, PAGE_DEFAULT, WCState, int_param, stamp


def page_of(items: list[dict[str, Any]], query: dict[str, str], name: str) -> dict[str, Any]:
    """§5.2 the list envelope with the resource's own names (accounts_per_page, total_accounts)."""
    per_page = int_param(query.get(f"{name}_per_page", PAGE_DEFAULT), f"{name}_per_page")
    page = int_param(query.get("page_number", 1), "page_number")
    if not 1 <= per_page <= ADMIN_PAGE_MAX or page < 1:
        raise WCError(
            f"Invalid {name}_per_page or page_number parameter (maximum {ADMIN_PAGE_MAX})."
        )
    return {
        "page_number": page,
        f"{name}_per_page": per_page,
        "total_pages": (len(items) + per_page - 1) // per_page,
        f"total_{name}": len(items),
        name: items[(page - 1) * per_page : page * per_page],
    }


def profile_out(profile: dict[str, Any]) -> dict[str, Any]:
    return {k: profile[k] for k in ("profile_id", "profile_name", "date_created")}


def account_out(state: WCState, account: dict[str, Any]) -> dict[str, Any]:
    return {
        "account_id": account["account_id"],
        "account_name": account["account_name"],
        "date_created": account["date_created"],
        "profiles": [profile_out(p) for p in profiles_of(state, account["account_id"])],
    }


def profiles_of(state: WCState, account_id: int) -> list[dict[str, Any]]:
    return [p for p in state.profiles.values() if p["account_id"] == account_id]


def required_name(fields: dict[str, Any], name: str) -> str:
    value = str(fields.get(name) or "").strip()
    if not value:
        raise WCError(f"{name} is required.")
    return value


def account_of(state: WCState, account_id: str | int) -> dict[str, Any]:
    """[O] §4 a bad account id → 400."""
    try:
        return state.accounts[int(account_id)]
    except (KeyError, ValueError):
        raise WCError("Invalid account ID.") from None


def profile_of(state: WCState, account_id: str | int, profile_id: str | int) -> dict[str, Any]:
    account = account_of(state, account_id)
    try:
        profile = state.profiles[int(profile_id)]
    except (KeyError, ValueError):
        raise WCError("Invalid profile ID.") from None
    if profile["account_id"] != account["account_id"]:
        raise WCError("Invalid profile ID.")
    return profile


def create_account(state: WCState, fields: dict[str, Any], now: datetime) -> dict[str, Any]:
    """§5 ``account_name`` required; ``create_profile`` adds a profile of the same name."""
    name = required_name(fields, "account_name")
    account_id = state.next_ids["account"]
    state.next_ids["account"] += 1
    state.accounts[account_id] = {
        "account_id": account_id,
        "account_name": name,
        "date_created": stamp(now),
        "hipaa": False,
    }
    if fields.get("create_profile") in ("true", "yes"):
        create_profile(state, account_id, {"profile_name": name}, now)
    return state.accounts[account_id]


def create_profile(
    state: WCState, account_id: str | int, fields: dict[str, Any], now: datetime
) -> dict[str, Any]:
    account = account_of(state, account_id)
    name = required_name(fields, "profile_name")
    profile_id = state.next_ids["profile"]
    state.next_ids["profile"] += 1
    state.profiles[profile_id] = {
        "profile_id": profile_id,
        "account_id": account["account_id"],
        "profile_name": name,
        "date_created": stamp(now),
    }
    return state.profiles[profile_id]


def delete_account(state: WCState, account_id: str | int, own_account: int) -> int:
    """§5 deletes the account and everything under it; the agency's own account stays ([?])."""
    aid = account_of(state, account_id)["account_id"]
    if aid == own_account:
        raise WCError("The agency's own account cannot be deleted.")
    for profile in profiles_of(state, aid):
        del state.profiles[profile["profile_id"]]
    state.leads = {i: x for i, x in state.leads.items() if x["account_id"] != aid}
    del state.accounts[aid]
    return aid


def delete_profile(
    state: WCState, account_id: str | int, profile_id: str | int, own_profile: int | None
) -> int:
    pid = profile_of(state, account_id, profile_id)["profile_id"]
    if pid == own_profile:
        raise WCError("A profile cannot delete itself.")
    del state.profiles[pid]
    state.leads = {i: x for i, x in state.leads.items() if x["profile_id"] != pid}
    return pid
