"""HTTP translation for the WhatConverts API (``/api/v1``): auth, parsing, envelopes. Facts:
docs/vendors/whatconverts.md."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from careflow.limits import body_json
from careflow.mocks.kernel.spec import RequestValidator

from . import accounts as acc
from . import recordings
from .errors import WCError
from .inflight import CALLER, SLOT
from .models import (
    MAPS,
    ApiKey,
    WCState,
    WhatConvertsBackend,
)
from .vendor import VENDOR

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
            data = body_json(request.scope, raw or b"{}")
        except (ValueError, RecursionError):
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


def vendor_spec() -> dict[str, Any]:
    """The vendor spec (openapi.yaml here), served at /api/v1/openapi (not a vendor route)."""
    return VENDOR.spec()


@cache
def request_validator() -> RequestValidator:
    return RequestValidator(vendor_spec(), PREFIX)


def spec_check(request: Request, fields: dict[str, Any] | None = None) -> None:
    """The spec catch-all (issue 4: the fake validates requests against its spec), run after
    auth, the limits and the hand-written §4 checks: 400 naming the parameter."""
    media = "application/json" if "json" in request.headers.get("content-type", "") else None
    problem = request_validator().problem(
        request.method,
        request.url.path,
        dict(request.query_params),
        fields,
        media or "application/x-www-form-urlencoded",
    )
    if problem is not None:
        raise WCError(f"Invalid {problem.field} parameter: {problem.reason}.")


def build_router(backend: WhatConvertsBackend) -> APIRouter:
    router = APIRouter(prefix=PREFIX)

    @router.get("/openapi", include_in_schema=False)
    def spec() -> dict[str, Any]:
        return vendor_spec()

    def caller_of(request: Request) -> tuple[str, WCState, ApiKey]:
        """The caller the in-flight counter authenticated, while it still holds (same header,
        the key still in its tenant's current state); else authenticate now."""
        header = request.headers.get("authorization")
        seen = getattr(request.state, CALLER, None)
        if seen is not None and seen[0] == header:
            tenant, state, key = seen[1]
            current = backend.has_tenant(tenant) and backend.state(tenant) is state
            if current and state.keys.get(key.token) is key:
                return tenant, state, key  # type: ignore[no-any-return]
        return backend.authenticate(header)

    async def handle(
        request: Request, work: Callable[[str, WCState, ApiKey], Any], *, read_only: bool = False
    ) -> Any:
        """Auth (401), the limits (429), then ``work``: its documented checks, and the spec
        catch-all — after ``work`` for a read (it changes nothing), inside it for a write."""
        origin = recordings.ORIGIN.set(str(request.base_url).rstrip("/"))
        try:
            tenant, state, key = caller_of(request)
            request.state.tenant = tenant
            backend.admit(getattr(request.state, SLOT, 1))
            backend.count_request(state, key)
            result = work(tenant, state, key)
            if hasattr(result, "__await__"):
                result = await result
            if read_only:
                spec_check(request)
        except WCError as exc:
            return exc.response()
        finally:
            recordings.ORIGIN.reset(origin)
        return result if isinstance(result, Response) else JSONResponse(result)

    @router.get("/leads")
    async def list_leads(request: Request) -> Any:
        query = dict(request.query_params)
        return await handle(
            request, lambda _t, s, k: backend.list_leads(s, k, query), read_only=True
        )

    @router.get("/leads/{lead_id}")
    async def get_lead(request: Request, lead_id: str) -> Any:
        journey = request.query_params.get("customer_journey") == "true"
        profile_id = request.query_params.get("profile_id")

        def work(_t: str, state: WCState, key: ApiKey) -> dict[str, Any]:
            found = backend.get_lead(state, key, lead_id)
            scoped = key.kind == "profile" or profile_id not in (None, "")
            # [?] §6.1 an agency key may name the lead's profile (and then sees custom_fields)
            if profile_id not in (None, "") and found["profile_id"] not in (
                backend.access.profile_scope(state, key, profile_id)
            ):
                raise WCError("Invalid lead ID.")
            lead = backend.lead_out(state, found, journey, scoped=scoped)
            # §5.3 the fake answers the list envelope holding one lead
            return {
                "page_number": 1,
                "leads_per_page": 1,
                "total_pages": 1,
                "total_leads": 1,
                "leads": [lead],
            }

        return await handle(request, work, read_only=True)

    @router.post("/leads")
    async def create_lead(request: Request) -> Any:
        async def work(tenant: str, state: WCState, key: ApiKey) -> dict[str, Any]:
            fields = await read_fields(request)
            lead = backend.create_lead(
                tenant, state, key, fields, check=lambda: spec_check(request, fields)
            )
            return backend.lead_out(state, lead)  # a create always names its profile (§5.4)

        return await handle(request, work)

    @router.post("/leads/{lead_id}")
    async def edit_lead(request: Request, lead_id: str) -> Any:
        async def work(tenant: str, state: WCState, key: ApiKey) -> dict[str, Any]:
            fields = await read_fields(request)
            lead = backend.edit_lead(
                tenant, state, key, lead_id, fields, check=lambda: spec_check(request, fields)
            )
            scoped = key.kind == "profile" or fields.get("profile_id") not in (None, "")
            return backend.lead_out(state, lead, scoped=scoped)  # [C] §6.1 custom_fields

        return await handle(request, work)

    @router.get("/recording")
    async def recording(request: Request) -> Any:
        """[C] §1, §5 the call's MP3 bytes (recordings.py)."""
        lead_id = request.query_params.get("lead_id")

        def work(_t: str, state: WCState, key: ApiKey) -> Response:
            return _audio(backend.leads.recording(state, key, lead_id), lead_id or "lead")

        return await handle(request, work, read_only=True)

    # accounts and profiles (agency key, rules in accounts.py) --------------------------------
    def master(
        request: Request, fn: Callable[[WCState, ApiKey, dict[str, Any]], Any], body: bool = False
    ) -> Any:
        async def work(tenant: str, state: WCState, key: ApiKey) -> Any:
            backend.require_master(key)
            fields = await read_fields(request) if body else {}
            # accounts.py's checks repeat what the spec says of these small bodies, so the spec
            # catch-all can run first here; the call may then change state
            spec_check(request, fields if body else None)
            result = fn(state, key, fields)
            if request.method != "GET":
                backend.accounts_changed(tenant, state, deleted=request.method == "DELETE")
            return result

        return handle(request, work)

    def now() -> Any:
        return backend.kernel.clock.now()

    @router.get("/accounts")
    async def accounts(request: Request) -> Any:
        query = dict(request.query_params)
        return await master(
            request,
            lambda s, _k, _f: acc.page_of(
                [acc.account_out(s, a) for a in s.accounts.values()], query, "accounts"
            ),
        )

    @router.post("/accounts")
    async def create_account(request: Request) -> Any:
        return await master(
            request, lambda s, _k, f: acc.account_out(s, acc.create_account(s, f, now())), True
        )

    @router.get("/accounts/{account_id}")
    async def get_account(request: Request, account_id: str) -> Any:
        return await master(
            request, lambda s, _k, _f: acc.account_out(s, acc.account_of(s, account_id))
        )

    @router.post("/accounts/{account_id}")
    async def edit_account(request: Request, account_id: str) -> Any:
        def work(state: WCState, _k: ApiKey, fields: dict[str, Any]) -> Any:
            account = acc.account_of(state, account_id)
            account["account_name"] = acc.required_name(fields, "account_name")
            return acc.account_out(state, account)

        return await master(request, work, True)

    @router.delete("/accounts/{account_id}")
    async def delete_account(request: Request, account_id: str) -> Any:
        def work(state: WCState, key: ApiKey, _f: dict[str, Any]) -> Any:
            return {
                "account_id": acc.delete_account(state, account_id, key.account_id),
                "deleted": True,
            }

        return await master(request, work)

    @router.get("/accounts/{account_id}/profiles")
    async def profiles(request: Request, account_id: str) -> Any:
        query = dict(request.query_params)

        def work(state: WCState, _k: ApiKey, _f: dict[str, Any]) -> Any:
            aid = acc.account_of(state, account_id)["account_id"]
            items = [acc.profile_out(p) for p in acc.profiles_of(state, aid)]
            return acc.page_of(items, query, "profiles")

        return await master(request, work)

    @router.post("/accounts/{account_id}/profiles")
    async def create_profile(request: Request, account_id: str) -> Any:
        return await master(
            request,
            lambda s, _k, f: acc.profile_out(acc.create_profile(s, account_id, f, now())),
            True,
        )

    @router.get("/accounts/{account_id}/profiles/{profile_id}")
    async def get_profile(request: Request, account_id: str, profile_id: str) -> Any:
        return await master(
            request, lambda s, _k, _f: acc.profile_out(acc.profile_of(s, account_id, profile_id))
        )

    @router.post("/accounts/{account_id}/profiles/{profile_id}")
    async def edit_profile(request: Request, account_id: str, profile_id: str) -> Any:
        def work(state: WCState, _k: ApiKey, fields: dict[str, Any]) -> Any:
            profile = acc.profile_of(state, account_id, profile_id)
            profile["profile_name"] = acc.required_name(fields, "profile_name")
            return acc.profile_out(profile)

        return await master(request, work, True)

    @router.delete("/accounts/{account_id}/profiles/{profile_id}")
    async def delete_profile(request: Request, account_id: str, profile_id: str) -> Any:
        def work(state: WCState, key: ApiKey, _f: dict[str, Any]) -> Any:
            pid = acc.delete_profile(state, account_id, profile_id, key.profile_id)
            return {"profile_id": pid, "deleted": True}

        return await master(request, work)

    return router


def _audio(data: bytes, name: str, *, inline: bool = False) -> Response:
    disposition = "inline" if inline else f'attachment; filename="{name}.mp3"'
    return Response(data, media_type="audio/mpeg", headers={"Content-Disposition": disposition})


def build_links_router(backend: WhatConvertsBackend) -> APIRouter:
    """The audio links of a call lead (§6.2 ``recording``, ``play_recording``, ``voicemail``,
    ``play_voicemail``): ``/recording/{token}/download`` and ``/play``, without credentials
    (recordings.py has the fake's choices)."""
    router = APIRouter()

    def find(request: Request, token: str) -> dict[str, Any]:
        lead_id = recordings.lead_of_token(token)
        for tenant in backend.tenants() if lead_id is not None else []:
            lead = backend.state(tenant).leads.get(lead_id)
            if lead is not None and recordings.audio_token(lead) == token:
                request.state.tenant = tenant
                return lead
        raise WCError("No recording found.", status=404)

    @router.get("/recording/{token}/download")
    def download(request: Request, token: str) -> Response:
        try:
            return _audio(recordings.synthetic_mp3(find(request, token)), token)
        except WCError as exc:
            return exc.response()

    @router.get("/recording/{token}/play")
    def play(request: Request, token: str) -> Response:
        try:
            return _audio(recordings.synthetic_mp3(find(request, token)), token, inline=True)
        except WCError as exc:
            return exc.response()

    return router
