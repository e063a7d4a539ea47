"""Caspio, as Keragon offers it: table.recordInsert / table.recordUpdate triggers (an outgoing
webhook created in Caspio on activation) and the seven table actions (source: Caspio's
"Integration with Keragon" page). Every call counts on the Caspio integration-call meter, and
the step reports how many it used (``usage.caspio_calls``).

Authentication credentials: ``url`` (the Integration URL), ``client_id``, ``client_secret``, and
optionally ``profile_name`` (the web services profile's name, as in the info file; the triggers'
webhooks are named after it — when it is absent, the name Caspio reports as the webhook's
``CreatedBy`` is used instead)."""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import Field

from .base import Action, Context, Params, StepError, Trigger, action, credentials, trigger
from .vendor_http import check, send

# DESIGN.md: the info file's keys (the Integration URL may be given as its hostname)
credentials("caspio", ("url", "hostname"), "client_id", "client_secret")

VENDOR = "Caspio"
API = "/integrations/rest/v3"
_tokens: dict[tuple[str, str], tuple[str, datetime]] = {}


def _url(ctx: Context) -> str:
    url = ctx.credentials.get("url") or ctx.credentials.get("hostname")
    if not url:
        raise StepError(
            "the Caspio authentication needs the Integration URL ('url')", retryable=False
        )
    return url if "://" in url else f"https://{url}"


async def _token(ctx: Context, refresh: bool = False) -> str:
    """Client-credentials token, cached until it expires (86399 s, [C] caspio.md §2)."""
    c = ctx.credentials
    key = (_url(ctx), str(c.get("client_id")))
    cached = _tokens.get(key)
    if cached and not refresh and cached[1] > ctx.clock.now():
        return cached[0]
    # The token endpoint sits outside /integrations/rest and the fake does not meter it
    # ([?] caspio.md §7; documented in mocks/caspio/openapi.yaml), so it is not counted here
    # either.
    response = await send(
        ctx.http,
        VENDOR,
        "POST",
        f"{_url(ctx).rstrip('/')}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": c.get("client_id"),
            "client_secret": c.get("client_secret"),
        },
        headers=ctx.headers(),
    )
    if response.status_code in (400, 401):
        raise StepError(
            f"Caspio refused the authentication's client credentials "
            f"({response.status_code}): {response.text[:300]}",
            retryable=False,
            status=response.status_code,
        )
    body = check(response, VENDOR)
    expires = ctx.clock.now() + timedelta(seconds=int(body.get("expires_in", 86399)) - 60)
    _tokens[key] = (body["access_token"], expires)
    return body["access_token"]


async def _call(
    ctx: Context, method: str, path: str, ok: tuple[int, ...] = (200, 201, 204), **kw: Any
) -> Any:
    url = f"{_url(ctx).rstrip('/')}{API}{path}"
    for attempt in (0, 1):
        token = await _token(ctx, refresh=attempt == 1)
        ctx.count("caspio_calls")
        response = await send(
            ctx.http,
            VENDOR,
            method,
            url,
            headers={"Authorization": f"Bearer {token}", **ctx.headers()},
            **kw,
        )
        if response.status_code != 401:
            return check(response, VENDOR, ok)
    return check(response, VENDOR, ok)


def _free_name(base: str, taken: set[str], ctx: Context) -> str:
    """``base``, else ``base - <workflow name>`` when the profile already has a webhook so named
    (Caspio refuses duplicate names, case-insensitively), else with the workflow id too."""
    suffix = ctx.workflow_name or ctx.workflow_id
    for name in (base, f"{base} - {suffix}", f"{base} - {suffix} ({ctx.workflow_id})"):
        if name.lower() not in taken:
            return name
    return f"{base} - {ctx.workflow_id}"


def _rows(body: Any) -> list[dict[str, Any]]:
    return body.get("Result", []) if isinstance(body, dict) else list(body or [])


# actions -------------------------------------------------------------------------------------


class TableParams(Params):
    table: str = Field(..., min_length=1)


class GetRecordsParams(TableParams):
    where: str | None = None
    select: str | None = None
    order_by: str | None = None
    limit: int | None = Field(None, ge=1, le=1000)


class RecordParams(TableParams):
    record: dict[str, Any]


class WhereParams(TableParams):
    where: str = Field(..., min_length=1, description="Caspio criteria, e.g. Email='a@b.c'")


class UpdateParams(WhereParams):
    record: dict[str, Any]


@action
class GetTables(Action):
    app, name, Params, side_effects = "caspio", "get_tables", Params, False

    async def run(self, ctx: Context, params: Any) -> Any:
        return {"tables": _rows(await _call(ctx, "GET", "/tables"))}


@action
class GetFields(Action):
    app, name, Params, side_effects = "caspio", "get_fields", TableParams, False

    async def run(self, ctx: Context, params: Any) -> Any:
        return {"fields": _rows(await _call(ctx, "GET", f"/tables/{params.table}/fields"))}


@action
class GetRecords(Action):
    app, name, Params, side_effects = "caspio", "get_records", GetRecordsParams, False

    async def run(self, ctx: Context, params: Any) -> Any:
        query = {
            "q.where": params.where,
            "q.select": params.select,
            "q.orderBy": params.order_by,
            "q.limit": params.limit,
        }
        body = await _call(
            ctx,
            "GET",
            f"/tables/{params.table}/records",
            params={k: v for k, v in query.items() if v is not None},
        )
        rows = _rows(body)
        return {"records": rows, "count": len(rows)}


@action
class CreateRecord(Action):
    app, name, Params = "caspio", "create_record", RecordParams

    async def run(self, ctx: Context, params: Any) -> Any:
        body = await _call(
            ctx,
            "POST",
            f"/tables/{params.table}/records",
            params={"response": "rows"},
            json=params.record,
        )
        rows = _rows(body)
        return rows[0] if rows else dict(params.record)


@action
class UpdateRecords(Action):
    """Edits all records that match the criteria."""

    app, name, Params = "caspio", "update_records", UpdateParams

    async def run(self, ctx: Context, params: Any) -> Any:
        body = await _call(
            ctx,
            "PUT",
            f"/tables/{params.table}/records",
            params={"q.where": params.where, "response": "rows"},
            json=params.record,
        )
        return {"records_affected": body.get("RecordsAffected", 0), "records": _rows(body)}


@action
class UpsertRecord(Action):
    """Updates the first record that matches the criteria, or inserts a new one."""

    app, name, Params = "caspio", "upsert_record", UpdateParams

    async def run(self, ctx: Context, params: Any) -> Any:
        found = _rows(
            await _call(
                ctx,
                "GET",
                f"/tables/{params.table}/records",
                params={"q.where": params.where, "q.limit": 1},
            )
        )
        if not found:
            created = await CreateRecord().run(
                ctx, RecordParams(table=params.table, record=params.record)
            )
            return {"action": "inserted", "record": created}
        first = found[0]
        where = f"PK_ID={int(first['PK_ID'])}" if "PK_ID" in first else params.where
        body = await _call(
            ctx,
            "PUT",
            f"/tables/{params.table}/records",
            params={"q.where": where, "response": "rows"},
            json=params.record,
        )
        rows = _rows(body)
        return {"action": "updated", "record": rows[0] if rows else {**first, **params.record}}


@action
class DeleteRecords(Action):
    app, name, Params = "caspio", "delete_records", WhereParams

    async def run(self, ctx: Context, params: Any) -> Any:
        body = await _call(
            ctx, "DELETE", f"/tables/{params.table}/records", params={"q.where": params.where}
        )
        return {"records_affected": (body or {}).get("RecordsAffected", 0)}


# triggers ------------------------------------------------------------------------------------


class TableTriggerParams(Params):
    table: str = Field(..., min_length=1)
    fields: list[str] | None = Field(None, description="recordUpdate: only these fields")


class _TableTrigger(Trigger):
    """Activation creates an outgoing webhook in Caspio, named after the web services profile,
    pointing at this workflow's hook URL; deactivation deletes it ([C] caspio Keragon page)."""

    app = "caspio"
    kind = "webhook"
    Params = TableTriggerParams
    caspio_event: Literal["table.recordInsert", "table.recordUpdate"]

    def _hook_url(self, ctx: Context) -> str:
        return f"{ctx.engine_url.rstrip('/')}/hooks/{ctx.workflow_id}"

    async def activate(self, ctx: Context, params: Any) -> None:
        hooks = _rows(await _call(ctx, "GET", "/outgoingWebhooks"))
        url = self._hook_url(ctx)
        mine = next((h for h in hooks if url in (h.get("OutgoingUrls") or [])), None)
        if mine is not None and mine.get("Id") == ctx.state.get("webhook_id"):
            return  # still there: nothing to recreate
        if mine is not None:
            await _call(ctx, "DELETE", f"/outgoingWebhooks/{mine['Id']}", ok=(204, 200, 404))
            hooks = [h for h in hooks if h is not mine]
        names = {str(h.get("Name", "")).lower() for h in hooks}
        # [C] Keragon/Caspio page: "Webhooks created by Keragon display the name of the Web
        # services profile used by the Keragon authentication". The profile's name is the
        # optional credential ``profile_name``; without it, the name Caspio stamps as the
        # webhook's ``CreatedBy`` ([I] the creating profile; the fake does so) is learned from
        # the first webhook created and kept in the trigger state.
        profile = ctx.credentials.get("profile_name") or ctx.state.get("profile_name")
        name = _free_name(profile or "Keragon", names, ctx)
        created = await _call(
            ctx,
            "POST",
            "/outgoingWebhooks",
            json={
                "Name": name,
                "Description": f"Keragon workflow {ctx.workflow_id}",
                "OutgoingUrls": [url],
            },
        )
        creator = created.get("CreatedBy")
        if not profile and isinstance(creator, str) and creator.strip():
            ctx.state["profile_name"] = creator
            if (better := _free_name(creator, names, ctx)) != name:
                await _call(ctx, "PUT", f"/outgoingWebhooks/{created['Id']}", json={"Name": better})
                name = better
        event: dict[str, Any] = {"EventType": self.caspio_event, "ObjectName": params.table}
        if params.fields and self.caspio_event == "table.recordUpdate":
            event["ObjectFields"] = params.fields
        ev = await _call(ctx, "POST", f"/outgoingWebhooks/{created['Id']}/events", json=event)
        ctx.state.update(
            webhook_id=created["Id"],
            webhook_name=name,
            secret=created.get("Secret"),
            event_id=(ev or {}).get("Id"),
        )

    async def deactivate(self, ctx: Context, params: Any) -> None:
        webhook_id = ctx.state.pop("webhook_id", None)
        if webhook_id is None:
            return
        try:
            await _call(ctx, "DELETE", f"/outgoingWebhooks/{webhook_id}", ok=(204, 200, 404))
        except StepError as exc:
            # e.g. the web services profile was deleted first: the webhook is left orphaned
            ctx.state["orphaned"] = {"webhook_id": webhook_id, "error": str(exc)}

    def receive(
        self, ctx: Context, params: Any, body: Any, headers: dict[str, str]
    ) -> list[dict[str, Any]]:
        if not isinstance(body, dict):
            raise StepError("not a Caspio webhook message", retryable=False, status=400)
        # [C] caspio.md §8.3: a message is verified by the ``secret`` in its body and its
        # ``webhookId``; without a stored secret nothing can be verified, so nothing is accepted.
        secret, given = ctx.state.get("secret"), body.get("secret")
        if not secret or not isinstance(given, str) or not hmac.compare_digest(given, secret):
            raise StepError("webhook secret missing or wrong", retryable=False, status=401)
        if str(body.get("webhookId")) != str(ctx.state.get("webhook_id")):
            raise StepError(
                "message is not from this workflow's webhook", retryable=False, status=401
            )
        if body.get("eventType") != self.caspio_event:
            return []
        if str(body.get("objectName", "")).lower() != params.table.lower():
            return []
        # DESIGN.md: the whole message under ``_message`` — minus its secret, which would
        # otherwise sit in clear in every run, event and API answer
        message = {k: v for k, v in body.items() if k != "secret"}
        return [{**row, "_message": message} for row in body.get("data") or []]

    def dedup_key(self, record: dict[str, Any]) -> str | None:
        message = record.get("_message") or {}
        return f"{message.get('messageId')}:{record.get('PK_ID')}"


@trigger
class RecordInsert(_TableTrigger):
    event = "table.recordInsert"
    caspio_event = "table.recordInsert"


@trigger
class RecordUpdate(_TableTrigger):
    event = "table.recordUpdate"
    caspio_event = "table.recordUpdate"
