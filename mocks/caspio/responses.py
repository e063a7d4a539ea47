"""HTTP translation for the Caspio REST API: ``/oauth/token`` and the table, record and
outgoing-webhook operations under ``/integrations/rest/v3`` (also answered under ``/rest/v2``,
[C] caspio.md §1 v2 base, same shapes for these operations: the kernel routes a v2 path as its
v3 spelling, ``Vendor.path_aliases``, so the routes exist once)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from careflow.limits import body_json
from careflow.mocks.kernel.middleware import received_path

from .errors import BadBody, BadQuery, CaspioError, Unauthorized, request_id
from .models import CaspioBackend, CaspioState, Profile
from .vendor import VENDOR

PREFIX = "/integrations/rest/v3"
Q_PARAMS = {
    "select": "select",
    "where": "where",
    "groupby": "groupBy",
    "orderby": "orderBy",
    "limit": "limit",
    "pagenumber": "pageNumber",
    "pagesize": "pageSize",
    "getpaginationinfo": "getPaginationInfo",
}


def _json(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status, headers={"X-Caspio-Request-ID": request_id()})


def _empty(status: int) -> Response:
    return Response(status_code=status, headers={"X-Caspio-Request-ID": request_id()})


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise BadBody("Required body parameter absent or has incorrect format")
    try:
        return body_json(request.scope, raw)
    except (ValueError, RecursionError):
        raise BadBody("Required body parameter absent or has incorrect format") from None


def _int(value: str, name: str, low: int, high: int) -> int:
    try:
        n = int(value)
    except ValueError:
        raise BadQuery(f"Query parameter '{name}' has incorrect format.") from None
    if not low <= n <= high:
        raise BadQuery(f"Query parameter '{name}' must be between {low} and {high}.")
    return n


def record_query(request: Request, *, write: bool = False) -> dict[str, Any]:
    """[C] §5.1 the q.* parameters; [C] §5.3 ``q.where``, ``where`` and ``Where`` alike;
    [O] §5.1 an unknown ``q.*`` name → 400 IncorrectQueryParameter."""
    raw: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        low = key.lower()
        name = low[2:] if low.startswith("q.") else low
        if name in Q_PARAMS:
            if Q_PARAMS[name] in raw:
                # [I] two values for one clause (q.where=...&q.where=..., or q.where and Where)
                # are ambiguous: refused before anything is read or changed
                raise BadQuery(f"Query parameter '{key}' is given more than once.")
            raw[Q_PARAMS[name]] = value
        elif low.startswith("q."):
            raise BadQuery(f"Unknown query parameter '{key}'.")
    clauses = ("select", "where", "groupBy", "orderBy")
    q: dict[str, Any] = {k: raw[k] for k in clauses if k in raw and raw[k].strip()}
    if write:
        return q
    q["limit"] = _int(raw["limit"], "q.limit", 1, 1000) if "limit" in raw else 100
    if "pageNumber" in raw or "pageSize" in raw:  # [C] §5.1 q.limit ignored with paging
        number = _int(raw.get("pageNumber", "1"), "q.pageNumber", 1, 10**9)
        size = _int(raw.get("pageSize", "25"), "q.pageSize", 5, 1000)
        q["page"] = (number, size)
    flag = raw.get("getPaginationInfo", "false").lower()
    if flag not in ("true", "false", "1", "0"):
        raise BadQuery("Query parameter 'q.getPaginationInfo' has incorrect format.")
    q["pagination"] = flag in ("true", "1")
    return q


def _rows_wanted(request: Request) -> bool:
    value = request.query_params.get("response", "")
    if value not in ("", "rows"):
        raise BadQuery("Query parameter 'response' has incorrect format.")
    return value == "rows"


def build_router(backend: CaspioBackend) -> APIRouter:
    router = APIRouter()
    hooks = backend.hooks

    def caller(request: Request) -> tuple[str, CaspioState, Profile]:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Authorization has been denied for this request.")
        found = backend.authenticate(token.strip())
        if found is None:
            raise Unauthorized("Authorization has been denied for this request.")
        tenant, profile = found
        request.state.tenant = tenant
        if not profile.enabled:
            raise CaspioError("Profile is disabled", code="ProfileDisabled")  # [C] §6.2
        state = backend.state(tenant)
        backend.count_call(state)  # [C] §7/§10 every REST call counts
        return tenant, state, profile

    # OAuth -------------------------------------------------------------------------------------
    @router.post("/oauth/token")
    async def token(request: Request) -> JSONResponse:
        """[C] §2 client credentials (form or Basic) and [I] refresh_token grant."""
        form = await request.form()
        grant = str(form.get("grant_type") or "")
        client_id = str(form.get("client_id") or "")
        secret = str(form.get("client_secret") or "")
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return _oauth_error("invalid_client")
        chain_expires = None
        if grant == "client_credentials":
            found = backend.profile_for_client(client_id, secret)
        elif grant == "refresh_token":
            rt = str(form.get("refresh_token") or "")
            spent = backend.use_refresh(rt, client_id or None)
            found = None if spent is None else (spent[0], spent[1])
            if found and client_id and found[1].client_secret != secret:
                found = None
            if found is None:
                return _oauth_error("invalid_grant")
            chain_expires = spent[2] if spent else None
        else:
            return _oauth_error("unsupported_grant_type")
        if found is None:
            return _oauth_error("invalid_client")
        tenant, profile = found
        request.state.tenant = tenant
        if not profile.enabled:
            raise CaspioError("Profile is disabled", code="ProfileDisabled")  # [C] §2
        return _json(backend.issue_token(tenant, profile, chain_expires))

    @router.get("/integrations/rest/v3/swagger/documentation")
    async def documentation() -> JSONResponse:
        """[O] §1: the raw Swagger is served without auth at this path."""
        return JSONResponse(VENDOR.spec())

    _mount(router, PREFIX, backend, hooks, caller)
    return router


def _oauth_error(code: str) -> JSONResponse:
    # [?] §2 bad client credentials: undocumented; the fake answers the RFC 6749 shape.
    return JSONResponse({"error": code}, 400, headers={"X-Caspio-Request-ID": request_id()})


def _mount(
    router: APIRouter,
    p: str,
    backend: CaspioBackend,
    hooks: Any,
    caller: Callable[[Request], tuple[str, CaspioState, Profile]],
) -> None:
    # tables --------------------------------------------------------------------------------
    @router.get(p + "/tables")
    async def list_tables(request: Request) -> JSONResponse:
        _t, state, profile = caller(request)
        backend.require(profile)
        return _json({"Result": [t.name for t in state.tables.values()]})  # [C] §3 string[]

    @router.post(p + "/tables")
    async def create_table(request: Request) -> Response:
        _t, state, profile = caller(request)
        backend.require(profile, create=True)
        body = await _body(request)
        if not isinstance(body, dict):
            raise BadBody("Required body parameter absent or has incorrect format")
        fields = body.get("Fields", body.get("Columns", []))  # [O] §3 Columns accepted too
        if not isinstance(fields, list):
            raise BadBody("Fields must be an array.")
        backend.create_table(state, body.get("Name"), fields, note=str(body.get("Note") or ""))
        return _empty(201)  # [C] §3 empty 201

    @router.get(p + "/tables/{table}")
    async def get_table(request: Request, table: str) -> JSONResponse:
        _t, state, profile = caller(request)
        backend.require(profile)
        t = state.table(table)
        return _json({"Result": {"Name": t.name, "Note": t.note}})

    @router.get(p + "/tables/{table}/fields")
    async def list_fields(request: Request, table: str) -> JSONResponse:
        _t, state, profile = caller(request)
        backend.require(profile)
        return _json({"Result": state.table(table).fields})  # [C] §4.1 PK_ID not listed

    @router.post(p + "/tables/{table}/fields")
    async def create_field(request: Request, table: str) -> Response:
        _t, state, profile = caller(request)
        backend.require(profile, create=True)
        t = state.table(table)
        backend.add_field(state, t, await _body(request))
        return _empty(201)

    @router.get(p + "/tables/{table}/fields/{field}")
    async def get_field(request: Request, table: str, field: str) -> JSONResponse:
        _t, state, profile = caller(request)
        backend.require(profile)
        f = state.table(table).field(field)
        if f is None:
            from .errors import NotFound

            raise NotFound("Requested object not found")
        return _json({"Result": f})

    @router.put(p + "/tables/{table}/fields/{field}")
    async def update_field(request: Request, table: str, field: str) -> Response:
        _t, state, profile = caller(request)
        backend.require(profile, create=True)
        body = await _body(request)
        v2 = received_path(request.scope).startswith("/rest/v2/")
        backend.update_field(state, state.table(table), field, body, v2=v2)
        return _empty(204)  # [C] §3

    @router.delete(p + "/tables/{table}/fields/{field}")
    async def delete_field(request: Request, table: str, field: str) -> Response:
        _t, state, profile = caller(request)
        backend.require(profile, create=True)
        backend.delete_field(state, state.table(table), field)
        return _empty(204)

    # records -------------------------------------------------------------------------------
    @router.get(p + "/tables/{table}/records")
    async def get_records(request: Request, table: str) -> JSONResponse:
        _t, state, profile = caller(request)
        backend.require(profile)
        t = state.table(table)
        return _json(backend.select_rows(state, t, record_query(request)))

    @router.post(p + "/tables/{table}/records")
    async def create_record(request: Request, table: str) -> Response:
        tenant, state, profile = caller(request)
        backend.require(profile)
        t = state.table(table)
        rows = _rows_wanted(request)
        row = backend.insert(tenant, state, t, await _body(request))
        if rows:
            return _json({"Result": [row]}, 201)  # [C] §5.2
        response = _empty(201)
        path = received_path(request.scope)  # a v2 call is answered in v2 spelling
        response.headers["Location"] = f"{path}/{row['PK_ID']}"  # [O] §5.2
        return response

    @router.put(p + "/tables/{table}/records")
    async def update_records(request: Request, table: str) -> JSONResponse:
        tenant, state, profile = caller(request)
        backend.require(profile)
        t = state.table(table)
        rows = _rows_wanted(request)
        q = record_query(request, write=True)
        updated = backend.update(tenant, state, t, q.get("where"), await _body(request))
        # [C]/[O] §5.3 RecordsAffected; Result [] unless response=rows
        return _json({"RecordsAffected": len(updated), "Result": updated if rows else []})

    @router.delete(p + "/tables/{table}/records")
    async def delete_records(request: Request, table: str) -> JSONResponse:
        tenant, state, profile = caller(request)
        backend.require(profile)
        t = state.table(table)
        q = record_query(request, write=True)
        return _json({"RecordsAffected": backend.delete(tenant, state, t, q.get("where"))})

    # password fields ([C] §3, §5.6) ------------------------------------------------------------
    @router.get(p + "/tables/{table}/passwordFields")
    def list_password_fields(request: Request, table: str) -> JSONResponse:
        _t, state, profile = caller(request)
        backend.require(profile)
        return _json({"Result": backend.passwords.fields(state.table(table))})

    @router.put(p + "/tables/{table}/passwordFields/{field}")
    async def set_password(request: Request, table: str, field: str) -> JSONResponse:
        _t, state, profile = caller(request)
        backend.require(profile)
        t = state.table(table)
        q = record_query(request, write=True)
        body = await _body(request)
        n = backend.passwords.set(state, t, field, q.get("where"), body)
        return _json({"RecordsAffected": n})

    @router.delete(p + "/tables/{table}/passwordFields/{field}")
    def reset_password(request: Request, table: str, field: str) -> JSONResponse:
        _t, state, profile = caller(request)
        backend.require(profile)
        t = state.table(table)
        q = record_query(request, write=True)
        return _json({"RecordsAffected": backend.passwords.reset(state, t, field, q.get("where"))})

    # outgoing webhooks ------------------------------------------------------------------------
    @router.get(p + "/outgoingWebhooks")
    async def list_webhooks(request: Request) -> JSONResponse:
        _t, state, _p = caller(request)
        # [C] §8.1 Swagger: a bare array (n8n's Result[] reading is the conflicting source)
        return _json([hooks.public(h) for h in state.webhooks.values()])

    @router.post(p + "/outgoingWebhooks")
    async def create_webhook(request: Request) -> JSONResponse:
        _t, state, profile = caller(request)
        return _json(hooks.create(state, profile, await _body(request)), 201)

    @router.get(p + "/outgoingWebhooks/{hook_id}")
    async def get_webhook(request: Request, hook_id: str) -> JSONResponse:
        _t, state, _p = caller(request)
        return _json(hooks.public(hooks.get(state, hook_id), detail=True))

    @router.put(p + "/outgoingWebhooks/{hook_id}")
    async def update_webhook(request: Request, hook_id: str) -> JSONResponse:
        _t, state, profile = caller(request)
        hooks.get(state, hook_id)
        return _json(hooks.update(state, profile, hook_id, await _body(request)))

    @router.delete(p + "/outgoingWebhooks/{hook_id}")
    async def delete_webhook(request: Request, hook_id: str) -> Response:
        _t, state, _p = caller(request)
        hooks.delete(state, hook_id)
        return _empty(204)

    @router.get(p + "/outgoingWebhooks/{hook_id}/events")
    async def list_events(request: Request, hook_id: str) -> JSONResponse:
        _t, state, _p = caller(request)
        return _json(list(hooks.get(state, hook_id)["Events"].values()))

    @router.post(p + "/outgoingWebhooks/{hook_id}/events")
    async def create_event(request: Request, hook_id: str) -> JSONResponse:
        _t, state, profile = caller(request)
        hooks.get(state, hook_id)
        return _json(hooks.add_event(state, profile, hook_id, await _body(request)), 201)

    @router.get(p + "/outgoingWebhooks/{hook_id}/events/{event_id}")
    async def get_event(request: Request, hook_id: str, event_id: str) -> JSONResponse:
        _t, state, _p = caller(request)
        ev = hooks.event(state, hook_id, event_id)
        return _json({**ev, "Messages": 0, "Calls": 0, "Errors": 0})

    @router.put(p + "/outgoingWebhooks/{hook_id}/events/{event_id}")
    async def update_event(request: Request, hook_id: str, event_id: str) -> JSONResponse:
        _t, state, profile = caller(request)
        hooks.event(state, hook_id, event_id)
        body = await _body(request)
        return _json(hooks.update_event(state, profile, hook_id, event_id, body))

    @router.delete(p + "/outgoingWebhooks/{hook_id}/events/{event_id}")
    async def delete_event(request: Request, hook_id: str, event_id: str) -> Response:
        _t, state, _p = caller(request)
        hooks.delete_event(state, hook_id, event_id)
        return _empty(204)
