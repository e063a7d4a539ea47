"""HTTP translation for the WhatConverts API (``/api/v1``): auth, parsing, envelopes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from .errors import WCError
from .models import (
    ADMIN_PAGE_MAX,
    MAPS,
    PAGE_DEFAULT,
    ApiKey,
    WCState,
    WhatConvertsBackend,
    _int,
    stamp,
)

PREFIX = "/api/v1"
BRACKETED = re.compile(r"^([A-Za-z_]+)\[([^\]]*)\]$")


def nest(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Form pairs → fields, with ``additional_fields[Name]=value`` as nested maps (§5.4)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        match = BRACKETED.match(key)
        if match:
            if match.group(1) not in MAPS:
                raise WCError(f"Invalid {match.group(1)} parameter.")
            out.setdefault(match.group(1), {})
            if not isinstance(out[match.group(1)], dict):
                raise WCError(f"Invalid {match.group(1)} parameter.")
            out[match.group(1)][match.group(2)] = value
        else:
            out[key] = value
    return out


async def read_fields(request: Request) -> dict[str, Any]:
    """Form-encoded (what the vendor's clients send) or, leniently, JSON (§5.4)."""
    content_type = request.headers.get("content-type", "")
    raw = await request.body()
    if "json" in content_type:
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            raise WCError("Invalid JSON body.") from None
        if not isinstance(data, dict):
            raise WCError("Invalid JSON body: an object is required.")
        return {k: _json_value(k, v) for k, v in data.items()}
    if "multipart/form-data" in content_type:
        form = await request.form()
        return nest([(k, v) for k, v in form.multi_items() if isinstance(v, str)])
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise WCError("Invalid form body.") from None
    return nest(pairs)


def _json_value(name: str, value: Any) -> Any:
    """A JSON field as the form field it stands for: maps stay maps, scalars become form values."""
    if name in MAPS:
        if not isinstance(value, dict) or any(isinstance(v, dict | list) for v in value.values()):
            raise WCError(f"Invalid {name} parameter: expected an object of name → value.")
        return value
    if isinstance(value, dict | list):
        raise WCError(f"Invalid {name} parameter.")
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


@cache
def vendor_spec() -> dict[str, Any]:
    """contracts/whatconverts.yaml, served at /api/v1/openapi (not a vendor route)."""
    return yaml.safe_load(resources.files("contracts").joinpath("whatconverts.yaml").read_text())


def build_router(backend: WhatConvertsBackend) -> APIRouter:
    router = APIRouter(prefix=PREFIX)

    @router.get("/openapi", include_in_schema=False)
    def spec() -> dict[str, Any]:
        return vendor_spec()

    async def handle(request: Request, work: Callable[[str, WCState, ApiKey], Any]) -> Any:
        try:
            tenant, state, key = backend.authenticate(request.headers.get("authorization"))
            request.state.tenant = tenant
            backend.count_request(state, key)
            backend.enter(state)
            try:
                result = work(tenant, state, key)
                if hasattr(result, "__await__"):
                    result = await result
            finally:
                backend.leave(state)
        except WCError as exc:
            return exc.response()
        return JSONResponse(result)

    @router.get("/leads")
    async def list_leads(request: Request) -> Any:
        query = dict(request.query_params)
        return await handle(request, lambda _t, s, k: backend.list_leads(s, k, query))

    @router.get("/leads/{lead_id}")
    async def get_lead(request: Request, lead_id: str) -> Any:
        journey = request.query_params.get("customer_journey") == "true"

        def work(_t: str, state: WCState, key: ApiKey) -> dict[str, Any]:
            lead = backend.lead_out(state, backend.get_lead(state, key, lead_id), journey)
            # §5.3 the fake answers the list envelope holding one lead
            return {
                "page_number": 1,
                "leads_per_page": 1,
                "total_pages": 1,
                "total_leads": 1,
                "leads": [lead],
            }

        return await handle(request, work)

    @router.post("/leads")
    async def create_lead(request: Request) -> Any:
        async def work(tenant: str, state: WCState, key: ApiKey) -> dict[str, Any]:
            return backend.create_lead(tenant, state, key, await read_fields(request))

        return await handle(request, work)

    @router.post("/leads/{lead_id}")
    async def edit_lead(request: Request, lead_id: str) -> Any:
        async def work(tenant: str, state: WCState, key: ApiKey) -> dict[str, Any]:
            return backend.edit_lead(tenant, state, key, lead_id, await read_fields(request))

        return await handle(request, work)

    # accounts and profiles (agency key) -----------------------------------------------------
    def page_of(items: list[dict[str, Any]], query: dict[str, str], name: str) -> dict[str, Any]:
        per_page = _int(query.get(f"{name}_per_page", PAGE_DEFAULT), f"{name}_per_page")
        page = _int(query.get("page_number", 1), "page_number")
        if not 1 <= per_page <= ADMIN_PAGE_MAX or page < 1:
            raise WCError(
                f"Invalid {name}_per_page or page_number parameter (maximum {ADMIN_PAGE_MAX})."
            )
        chunk = items[(page - 1) * per_page : page * per_page]
        return {
            "page_number": page,
            f"{name}_per_page": per_page,
            "total_pages": (len(items) + per_page - 1) // per_page,
            f"total_{name}": len(items),
            name: chunk,
        }

    def account_out(state: WCState, account: dict[str, Any]) -> dict[str, Any]:
        profiles = [
            profile_out(p)
            for p in state.profiles.values()
            if p["account_id"] == account["account_id"]
        ]
        return {
            "account_id": account["account_id"],
            "account_name": account["account_name"],
            "date_created": account["date_created"],
            "profiles": profiles,
        }

    def profile_out(profile: dict[str, Any]) -> dict[str, Any]:
        return {k: profile[k] for k in ("profile_id", "profile_name", "date_created")}

    def account_of(state: WCState, account_id: str) -> dict[str, Any]:
        try:
            return state.accounts[int(account_id)]
        except (KeyError, ValueError):
            raise WCError("Invalid account ID.") from None

    def profile_of(state: WCState, account_id: str, profile_id: str) -> dict[str, Any]:
        account = account_of(state, account_id)
        try:
            profile = state.profiles[int(profile_id)]
        except (KeyError, ValueError):
            raise WCError("Invalid profile ID.") from None
        if profile["account_id"] != account["account_id"]:
            raise WCError("Invalid profile ID.")
        return profile

    def master(fn: Callable[[str, WCState, ApiKey], Any]) -> Callable[..., Any]:
        def work(tenant: str, state: WCState, key: ApiKey) -> Any:
            backend.require_master(key)
            return fn(tenant, state, key)

        return work

    @router.get("/accounts")
    async def accounts(request: Request) -> Any:
        query = dict(request.query_params)
        return await handle(
            request,
            master(
                lambda _t, s, _k: page_of(
                    [account_out(s, a) for a in s.accounts.values()], query, "accounts"
                )
            ),
        )

    @router.post("/accounts")
    async def create_account(request: Request) -> Any:
        async def work(_t: str, state: WCState, key: ApiKey) -> Any:
            backend.require_master(key)
            fields = await read_fields(request)
            name = str(fields.get("account_name") or "").strip()
            if not name:
                raise WCError("account_name is required.")
            now = stamp(backend.kernel.clock.now())
            account_id = state.next_ids["account"]
            state.next_ids["account"] += 1
            state.accounts[account_id] = {
                "account_id": account_id,
                "account_name": name,
                "date_created": now,
                "hipaa": False,
            }
            if fields.get("create_profile") in ("true", "yes"):
                new_profile(state, account_id, name)
            return account_out(state, state.accounts[account_id])

        return await handle(request, work)

    def new_profile(state: WCState, account_id: int, name: str) -> dict[str, Any]:
        profile_id = state.next_ids["profile"]
        state.next_ids["profile"] += 1
        state.profiles[profile_id] = {
            "profile_id": profile_id,
            "account_id": account_id,
            "profile_name": name,
            "date_created": stamp(backend.kernel.clock.now()),
        }
        return state.profiles[profile_id]

    @router.get("/accounts/{account_id}")
    async def get_account(request: Request, account_id: str) -> Any:
        return await handle(
            request, master(lambda _t, s, _k: account_out(s, account_of(s, account_id)))
        )

    @router.post("/accounts/{account_id}")
    async def edit_account(request: Request, account_id: str) -> Any:
        async def work(_t: str, state: WCState, key: ApiKey) -> Any:
            backend.require_master(key)
            account = account_of(state, account_id)
            name = str((await read_fields(request)).get("account_name") or "").strip()
            if not name:
                raise WCError("account_name is required.")
            account["account_name"] = name
            return account_out(state, account)

        return await handle(request, work)

    @router.delete("/accounts/{account_id}")
    async def delete_account(request: Request, account_id: str) -> Any:
        def work(_t: str, state: WCState, key: ApiKey) -> Any:
            backend.require_master(key)
            account = account_of(state, account_id)
            if account["account_id"] == key.account_id:
                raise WCError("The agency's own account cannot be deleted.")
            aid = account["account_id"]
            gone = [p for p, prof in state.profiles.items() if prof["account_id"] == aid]
            for pid in gone:
                del state.profiles[pid]
            state.leads = {i: x for i, x in state.leads.items() if x["account_id"] != aid}
            del state.accounts[aid]
            return {"account_id": aid, "deleted": True}

        return await handle(request, work)

    @router.get("/accounts/{account_id}/profiles")
    async def profiles(request: Request, account_id: str) -> Any:
        query = dict(request.query_params)

        def work(_t: str, state: WCState, _k: ApiKey) -> Any:
            account = account_of(state, account_id)
            items = [
                profile_out(p)
                for p in state.profiles.values()
                if p["account_id"] == account["account_id"]
            ]
            return page_of(items, query, "profiles")

        return await handle(request, master(work))

    @router.post("/accounts/{account_id}/profiles")
    async def create_profile(request: Request, account_id: str) -> Any:
        async def work(_t: str, state: WCState, key: ApiKey) -> Any:
            backend.require_master(key)
            account = account_of(state, account_id)
            name = str((await read_fields(request)).get("profile_name") or "").strip()
            if not name:
                raise WCError("profile_name is required.")
            return profile_out(new_profile(state, account["account_id"], name))

        return await handle(request, work)

    @router.get("/accounts/{account_id}/profiles/{profile_id}")
    async def get_profile(request: Request, account_id: str, profile_id: str) -> Any:
        return await handle(
            request, master(lambda _t, s, _k: profile_out(profile_of(s, account_id, profile_id)))
        )

    @router.post("/accounts/{account_id}/profiles/{profile_id}")
    async def edit_profile(request: Request, account_id: str, profile_id: str) -> Any:
        async def work(_t: str, state: WCState, key: ApiKey) -> Any:
            backend.require_master(key)
            profile = profile_of(state, account_id, profile_id)
            name = str((await read_fields(request)).get("profile_name") or "").strip()
            if not name:
                raise WCError("profile_name is required.")
            profile["profile_name"] = name
            return profile_out(profile)

        return await handle(request, work)

    @router.delete("/accounts/{account_id}/profiles/{profile_id}")
    async def delete_profile(request: Request, account_id: str, profile_id: str) -> Any:
        def work(_t: str, state: WCState, key: ApiKey) -> Any:
            backend.require_master(key)
            profile = profile_of(state, account_id, profile_id)
            if profile["profile_id"] == key.profile_id:
                raise WCError("A profile cannot delete itself.")
            del state.profiles[profile["profile_id"]]
            state.leads = {
                i: x for i, x in state.leads.items() if x["profile_id"] != profile["profile_id"]
            }
            return {"profile_id": profile["profile_id"], "deleted": True}

        return await handle(request, work)

    return router
