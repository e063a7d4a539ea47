"""WhatConverts, as Keragon offers it: New Lead / Updated Lead triggers; Get Leads, Get Lead,
Create Lead and Update Lead actions (source: the WhatConverts "Keragon integration" page)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import Field, model_validator

from .base import (
    Action,
    ConfigProblem,
    Context,
    Params,
    StepError,
    Trigger,
    action,
    credentials,
    trigger,
)
from .vendor_http import check, send

# DESIGN.md: the info file's keys; the profile key (or the agency key with profile_id)
credentials("whatconverts", "url", "api_token", "api_secret")

VENDOR = "WhatConverts"
# [C] Keragon/WhatConverts page: "a maximum of 500 records that were created in the last 5 minutes"
SAMPLE_MAX = 500
SAMPLE_WINDOW = timedelta(minutes=5)
PAGE_MAX = 2500  # [C] whatconverts.md §3: leads_per_page maximum 2500
LeadType = Literal[
    "appointment",
    "chat",
    "email",
    "event",
    "other",
    "phone_call",
    "text_message",
    "transaction",
    "web_form",
]
Quotable = Literal["yes", "no", "pending", "not_set"]


def _base(ctx: Context) -> str:
    try:
        return ctx.credentials["url"].rstrip("/") + "/api/v1"
    except KeyError:
        raise StepError("the WhatConverts authentication has no 'url'", retryable=False) from None


def _auth(ctx: Context) -> tuple[str, str]:
    c = ctx.credentials
    if not c.get("api_token") or not c.get("api_secret"):
        raise StepError(
            "the WhatConverts authentication needs api_token and api_secret", retryable=False
        )
    return c["api_token"], c["api_secret"]


async def _call(ctx: Context, method: str, path: str, **kw: Any) -> Any:
    response = await send(
        ctx.http, VENDOR, method, _base(ctx) + path, auth=_auth(ctx), headers=ctx.headers(), **kw
    )
    return check(response, VENDOR)


def _instant(value: str | None) -> datetime | None:
    if not value:
        return None
    text = value.replace("Z", "+00:00").replace(" ", "T", 1)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def _iso(moment: datetime) -> str:
    # four-digit year always (strftime writes year 73 as "73" on Linux)
    return f"{moment.year:04d}" + moment.strftime("-%m-%dT%H:%M:%SZ")


def _lead_of(body: Any) -> dict[str, Any]:
    """GET /leads/{id} answers the list envelope or a bare lead ([I] whatconverts.md §5.3)."""
    if isinstance(body, dict) and isinstance(body.get("leads"), list):
        if not body["leads"]:
            raise StepError("WhatConverts returned no lead", retryable=False)
        return body["leads"][0]
    return body


async def _leads(
    ctx: Context, profile_id: int, *, limit: int | None = None, **filters: Any
) -> list[dict[str, Any]]:
    """Page through GET /leads as the vendor's own clients do (until page_number >= total_pages)."""
    out: list[dict[str, Any]] = []
    page = 1
    per_page = min(PAGE_MAX, limit or PAGE_MAX)
    while True:
        params = {"profile_id": profile_id, "page_number": page, "leads_per_page": per_page}
        params.update({k: v for k, v in filters.items() if v is not None})
        body = await _call(ctx, "GET", "/leads", params=params)
        out += body.get("leads", [])
        if (limit and len(out) >= limit) or page >= int(body.get("total_pages") or 0):
            break
        page += 1
    return out[:limit] if limit else out


# triggers ------------------------------------------------------------------------------------


def _lead_type_key(display: Any) -> str:
    """[C] whatconverts.md §6.3: responses carry the display form ("Phone Call") of the snake_case
    lead_type the API takes ("phone_call")."""
    return str(display or "").strip().lower().replace(" ", "_")


def _matches(lead: dict[str, Any], params: Any) -> bool:
    """A webhook delivery passes the trigger's filters as a polled lead would (the poll asks the
    API for ``profile_id`` and ``lead_type``)."""
    profile = lead.get("profile_id")
    if profile is not None and str(profile) != str(params.profile_id):
        return False
    return params.lead_type is None or _lead_type_key(lead.get("lead_type")) == params.lead_type


class LeadTriggerParams(Params):
    profile_id: int
    lead_type: LeadType | None = None


class _LeadTrigger(Trigger):
    """Polls the leads API with a cursor; also accepts the vendor's lead webhooks."""

    kind = "poll"
    Params = LeadTriggerParams
    field_name = "date_created"
    webhook_trigger = "new"

    async def activate(self, ctx: Context, params: Any) -> None:
        # The cursor starts at activation: leads that existed before do not fire, even those
        # stamped with the activation second itself (remembered in ``seen``).
        now = ctx.clock.now()
        ctx.state["cursor"] = _iso(now)
        ctx.state["seen"] = [
            self.dedup_key(lead)
            for lead in await self._fetch(ctx, params, now)
            if self._moment(lead) is not None and self._moment(lead) >= now
        ]

    def _moment(self, lead: dict[str, Any]) -> datetime | None:
        return _instant(lead.get(self.field_name))

    def _is_new(self, lead: dict[str, Any], cursor: datetime, seen: set[str]) -> bool:
        moment = self._moment(lead)
        return moment is not None and moment >= cursor and self.dedup_key(lead) not in seen

    async def _fetch(self, ctx: Context, params: Any, cursor: datetime) -> list[dict[str, Any]]:
        now = ctx.clock.now()
        # the API filters by date created only, within 400 days ([C] whatconverts.md §5.1)
        start = cursor if self.field_name == "date_created" else now - timedelta(days=399)
        return await _leads(
            ctx,
            params.profile_id,
            start_date=_iso(start - timedelta(seconds=1)),
            end_date=_iso(max(now, cursor) + timedelta(seconds=1)),
            order="asc",
            lead_type=params.lead_type,
        )

    async def poll(self, ctx: Context, params: Any) -> list[dict[str, Any]]:
        cursor = _instant(ctx.state.get("cursor")) or ctx.clock.now()
        seen = set(ctx.state.get("seen") or [])
        fresh = [
            lead
            for lead in await self._fetch(ctx, params, cursor)
            if self._is_new(lead, cursor, seen)
        ]
        if fresh:
            newest = max(m for lead in fresh if (m := self._moment(lead)) is not None)
            at_newest = {self.dedup_key(lead) for lead in fresh if self._moment(lead) == newest}
            ctx.state["seen"] = sorted(at_newest | (seen if newest == cursor else set()))
            ctx.state["cursor"] = _iso(newest)
        return sorted(fresh, key=lambda lead: (lead[self.field_name], lead["lead_id"]))

    async def sample(self, ctx: Context, params: Any) -> list[dict[str, Any]]:
        now = ctx.clock.now()
        since = now - SAMPLE_WINDOW
        leads = await _leads(
            ctx,
            params.profile_id,
            limit=None,
            start_date=_iso(since),
            end_date=_iso(now + timedelta(seconds=1)),
            order="desc",
            lead_type=params.lead_type,
        )
        recent = [
            lead
            for lead in leads
            if (moment := _instant(lead.get("date_created"))) is not None and since <= moment <= now
        ]
        recent.sort(key=lambda lead: _instant(lead["date_created"]), reverse=True)  # type: ignore[arg-type, return-value]
        return recent[:SAMPLE_MAX]

    def receive(
        self, ctx: Context, params: Any, body: Any, headers: dict[str, str]
    ) -> list[dict[str, Any]]:
        leads = body if isinstance(body, list) else [body]
        return [
            lead
            for lead in leads
            if isinstance(lead, dict)
            and lead.get("trigger", self.webhook_trigger) == self.webhook_trigger
            and _matches(lead, params)
        ]

    def dedup_key(self, record: dict[str, Any]) -> str | None:
        return (
            f"{record.get('lead_id')}:{record.get(self.field_name) or record.get('last_updated')}"
        )


@trigger
class NewLead(_LeadTrigger):
    app = "whatconverts"
    event = "new_lead"


@trigger
class UpdatedLead(_LeadTrigger):
    app = "whatconverts"
    event = "updated_lead"
    field_name = "last_updated"
    webhook_trigger = "update"

    def _is_new(self, lead: dict[str, Any], cursor: datetime, seen: set[str]) -> bool:
        # an update, not the creation itself
        updated = lead.get("last_updated") != lead.get("date_created")
        return updated and super()._is_new(lead, cursor, seen)


# actions -------------------------------------------------------------------------------------


class GetLeadsParams(Params):
    profile_id: int
    email: str | None = Field(None, description="Filter by the contact's email address")
    max_items: int | None = Field(None, ge=1, description="Set to 1 to get one lead only")


@action
class GetLeads(Action):
    app, name, Params, side_effects = "whatconverts", "get_leads", GetLeadsParams, False

    async def run(self, ctx: Context, params: Any) -> Any:
        leads = await _leads(
            ctx, params.profile_id, limit=params.max_items, email_address=params.email
        )
        return {"leads": leads, "count": len(leads)}


class GetLeadParams(Params):
    profile_id: int
    lead_id: int


@action
class GetLead(Action):
    app, name, Params, side_effects = "whatconverts", "get_lead", GetLeadParams, False

    async def run(self, ctx: Context, params: Any) -> Any:
        return _lead_of(
            await _call(
                ctx, "GET", f"/leads/{params.lead_id}", params={"profile_id": params.profile_id}
            )
        )


class CreateLeadParams(Params):
    """Default fields only ([C] Keragon page: "Additional custom fields cannot be added")."""

    profile_id: int
    lead_type: LeadType
    send_notification: bool
    contact_name: str | None = None
    email_address: str | None = None
    phone_number: str | None = None
    date_created: str | None = None
    quotable: Quotable | None = None
    quote_value: float | None = None
    sales_value: float | None = None
    lead_source: str | None = None
    lead_medium: str | None = None
    lead_campaign: str | None = None
    lead_content: str | None = None
    lead_keyword: str | None = None
    lead_url: str | None = None
    landing_url: str | None = None
    notes: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None


@action
class CreateLead(Action):
    app, name, Params = "whatconverts", "create_lead", CreateLeadParams

    @classmethod
    def check(cls, params: dict[str, Any]) -> list[ConfigProblem]:
        problems = super().check(params)
        for key in ("additional_fields", "custom_fields"):
            for problem in problems:
                if problem.field == key:
                    problem.message = (
                        "Create Lead uses WhatConverts default fields only; custom/additional "
                        "fields cannot be added through Keragon"
                    )
        return problems

    async def run(self, ctx: Context, params: Any) -> Any:
        form = {
            k: ("true" if v is True else "false" if v is False else v)
            for k, v in params.model_dump(exclude_none=True).items()
        }
        return _lead_of(await _call(ctx, "POST", "/leads", data=form))

    def written(self, output: Any) -> list[dict[str, Any]]:
        return [output] if isinstance(output, dict) and output.get("lead_id") else []


UPDATABLE = ("quote_value", "sales_value", "lead_url", "quotable")


class UpdateLeadParams(Params):
    """[C] Keragon page: "Only these four fields can be updated" — quote value, sales value,
    lead page URL, quotable status. Anything else is refused here, before any request."""

    profile_id: int
    lead_id: int
    quote_value: float | None = None
    sales_value: float | None = None
    lead_url: str | None = None
    quotable: Quotable | None = None

    @model_validator(mode="after")
    def _one_field(self) -> UpdateLeadParams:
        if all(getattr(self, f) is None for f in UPDATABLE):
            raise ValueError(f"give at least one of {', '.join(UPDATABLE)}")
        return self


@action
class UpdateLead(Action):
    app, name, Params = "whatconverts", "update_lead", UpdateLeadParams

    @classmethod
    def check(cls, params: dict[str, Any]) -> list[ConfigProblem]:
        # the model-level "at least one field" error is replaced by the key check below, which
        # also holds when the values are templates
        problems = [p for p in super().check(params) if p.loc()]
        for problem in problems:
            if len(problem.loc()) == 1 and problem.field not in cls.Params.model_fields:
                problem.message = (
                    f"Update Lead can change only quote value, sales value, lead page URL and "
                    f"quotable; {problem.field!r} cannot be modified through Keragon"
                )
        if not any(f in params for f in UPDATABLE):
            problems.append(ConfigProblem("params", f"give at least one of {', '.join(UPDATABLE)}"))
        return problems

    async def run(self, ctx: Context, params: Any) -> Any:
        form = {k: v for k, v in params.model_dump(exclude_none=True).items() if k in UPDATABLE}
        form["profile_id"] = params.profile_id
        return _lead_of(await _call(ctx, "POST", f"/leads/{params.lead_id}", data=form))

    def written(self, output: Any) -> list[dict[str, Any]]:
        # the edit bumps last_updated: without this an Updated Lead workflow that edits its
        # own trigger lead would fire again on every poll
        return [output] if isinstance(output, dict) and output.get("lead_id") else []
