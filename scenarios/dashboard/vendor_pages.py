"""The fakes' pages: WhatConverts leads, Caspio tables/records/webhooks, Ours Recent Events.

Reads come from each fake's admin API (``/__sandbox/state``, ``/events``, ...), which is not
metered: browsing does not spend the WhatConverts daily quota or Caspio integration calls. The
one exception is a Caspio ``q.where`` typed by the user, which only Caspio's REST API evaluates
(one integration call, and the page says so)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from careflow.mocks.whatconverts.models import LEAD_STATUS, LEAD_TYPES, PAGE_DEFAULT, PAGE_MAX

from .links import caspio_rows_of_run, lead_requests, ours_events_of, runs_of_lead
from .present import mask
from .reader import NotFoundError, gather_dict
from .web import dashboard, revealed

CASPIO_PAGE = 50


def register(router: APIRouter) -> None:
    # WhatConverts -----------------------------------------------------------------------------
    @router.get("/whatconverts/leads")
    async def wc_leads(
        request: Request,
        lead_type: str = "",
        lead_status: str = "",
        start_date: str = "",
        end_date: str = "",
        page_number: str = "1",
        leads_per_page: str = str(PAGE_DEFAULT),
    ) -> Response:
        board = dashboard(request)
        state = await board.reader.state("whatconverts")
        query = {
            "lead_type": lead_type,
            "lead_status": lead_status,
            "start_date": start_date,
            "end_date": end_date,
            "page_number": page_number,
            "leads_per_page": leads_per_page,
        }
        problem, page = filter_leads(list(state.get("leads", {}).values()), query)
        reveal = revealed(request)
        return board.render(
            request,
            "wc_leads.html",
            http_status=400 if problem else 200,
            title="WhatConverts leads",
            section="leads",
            problem=problem,
            query=query,
            page=page,
            leads=[mask(lead, reveal) for lead in page["leads"]],
            lead_types=LEAD_TYPES,
            lead_statuses=LEAD_STATUS,
        )

    @router.get("/whatconverts/leads/{lead_id}")
    async def wc_lead(request: Request, lead_id: str) -> Response:
        board = dashboard(request)
        reader = board.reader
        got = await gather_dict(
            {
                "state": reader.state("whatconverts"),
                "journal": reader.admin("whatconverts", "GET", "/journal"),
                "runs": reader.all_runs(),
                "events": reader.admin("ours", "GET", "/events"),
                "workflows": reader.workflows(),
            }
        )
        if isinstance(got["state"], Exception):
            raise got["state"]
        leads = got["state"].get("leads", {})
        lead = leads.get(lead_id)
        if lead is None:
            raise NotFoundError(
                "whatconverts", f"lead {lead_id}", 404, "no such lead in the fake's state"
            )
        runs = runs_of_lead(_ok(got["runs"], []), lead_id)
        cids = {r.get("correlation_id") for r in runs if r.get("correlation_id")}
        events = ours_events_of(_ok(got["events"], {"items": []})["items"], cids, lead_id)
        journal = _ok(got["journal"], {"items": []})["items"]
        requests = lead_requests(journal, leads).get(lead_id, [])
        reveal = revealed(request)
        return board.render(
            request,
            "wc_lead.html",
            title=f"Lead {lead_id}",
            section="leads",
            lead=mask(lead, reveal),
            lead_id=lead_id,
            runs=runs,
            rows=[row for r in runs for row in caspio_rows_of_run(r)],
            events=[mask(e, reveal) for e in events],
            requests=requests,
            workflow_names={w["id"]: w["name"] for w in _ok(got["workflows"], [])},
        )

    # Caspio -----------------------------------------------------------------------------------
    @router.get("/caspio/tables")
    async def caspio_tables(request: Request) -> Response:
        board = dashboard(request)
        state = await board.reader.state("caspio")
        tables = [
            {
                "name": name,
                "note": table.get("note", ""),
                "fields": len(table.get("fields", [])),
                "rows": len(table.get("rows", [])),
            }
            for name, table in sorted(state.get("tables", {}).items())
        ]
        return board.render(
            request,
            "caspio_tables.html",
            title="Caspio tables",
            section="caspio",
            tables=tables,
            meter=state.get("meter", {}),
        )

    @router.get("/caspio/tables/{name}")
    async def caspio_table(
        request: Request, name: str, where: str = "", pk: str = "", page: str = "1"
    ) -> Response:
        board = dashboard(request)
        state = await board.reader.state("caspio")
        table = state.get("tables", {}).get(name)
        if table is None:
            raise NotFoundError("caspio", f"table {name}", 404, "no such table in the fake's state")
        fields = sorted(table.get("fields", []), key=lambda f: f.get("DisplayOrder") or 0)
        columns = ["PK_ID", *[f["Name"] for f in fields if f["Name"] != "PK_ID"]]
        reveal = revealed(request)
        problem, rows, source, total = "", [], "state", 0
        number = max(1, int(page)) if page.isdigit() else 1
        if where.strip():
            source = "api"
            response = await board.reader.caspio_records(name, where.strip())
            body = _json_or_text(response)
            if response.status_code == 200 and isinstance(body, dict):
                rows = body.get("Result", [])
                total = len(rows)
            else:
                problem = _caspio_problem(response.status_code, body)
        else:
            rows = table.get("rows", [])
            if pk:
                rows = [r for r in rows if str(r.get("PK_ID")) == pk]
            total = len(rows)
            rows = rows[(number - 1) * CASPIO_PAGE : number * CASPIO_PAGE]
        pages = max(1, (total + CASPIO_PAGE - 1) // CASPIO_PAGE) if source == "state" else 1
        return board.render(
            request,
            "caspio_table.html",
            http_status=400 if problem else 200,
            title=f"Caspio table {name}",
            section="caspio",
            name=name,
            note=table.get("note", ""),
            fields=fields,
            columns=columns,
            rows=[mask(r, reveal) for r in rows],
            where=where,
            pk=pk,
            problem=problem,
            source=source,
            total=total,
            number=number,
            pages=pages,
        )

    @router.get("/caspio/webhooks")
    async def caspio_webhooks(request: Request) -> Response:
        board = dashboard(request)
        reader = board.reader
        got = await gather_dict(
            {
                "state": reader.state("caspio"),
                "deliveries": reader.admin("caspio", "GET", "/webhooks/deliveries"),
                "orphans": reader.admin("caspio", "GET", "/orphans"),
            }
        )
        if isinstance(got["state"], Exception):
            raise got["state"]
        state = got["state"]
        # a webhook's Name is the profile's, not PHI: only its Secret is masked
        hooks = [mask(h, reveal=True) for h in state.get("webhooks", {}).values()]
        profiles = [p.get("name") for p in state.get("profiles", [])]
        return board.render(
            request,
            "caspio_webhooks.html",
            title="Caspio outgoing webhooks",
            section="webhooks",
            hooks=hooks,
            profiles=profiles,
            deliveries=list(reversed(_ok(got["deliveries"], {"items": []})["items"])),
            orphans=_ok(got["orphans"], {"items": []})["items"],
            meter=state.get("meter", {}),
        )

    # Ours Privacy -----------------------------------------------------------------------------
    @router.get("/ours/events")
    async def ours_events(
        request: Request, mode: str = "", event: str = "", hidden: str = "", cid: str = ""
    ) -> Response:
        board = dashboard(request)
        reader = board.reader
        params = {k: v for k, v in {"mode": mode, "event": event}.items() if v}
        got = await gather_dict(
            {
                "events": reader.admin("ours", "GET", "/events", params=params),
                "state": reader.state("ours") if hidden else _none(),
                "dispatches": reader.admin("ours", "GET", "/dispatches"),
                "sources": reader.admin("ours", "GET", "/sources"),
                "destinations": reader.admin("ours", "GET", "/destinations"),
            }
        )
        if isinstance(got["events"], Exception):
            raise got["events"]
        events = got["events"]["items"]
        if hidden and isinstance(got["state"], dict):
            shown = {e["id"] for e in events}
            events = sorted(
                events
                + [
                    e
                    for e in got["state"].get("events", [])
                    if e["id"] not in shown
                    and e.get("status") == "dropped"
                    and (not mode or e.get("mode") == mode)
                    and (not event or e.get("event", "").casefold() == event.casefold())
                ],
                key=lambda e: (e.get("received_at") or "", e["id"]),
            )
        if cid:
            events = [e for e in events if e.get("correlation_id") == cid]
        names = _names(got["sources"], got["destinations"])
        dispatches = _ok(got["dispatches"], {"items": []})["items"]
        reveal = revealed(request)
        return board.render(
            request,
            "ours_events.html",
            title="Ours Privacy Recent Events",
            section="events",
            events=[event_view(mask(e, reveal), dispatches, names) for e in reversed(events)],
            mode=mode,
            event=event,
            hidden=hidden,
            cid=cid,
        )

    @router.get("/ours/events/{event_id}")
    async def ours_event(request: Request, event_id: str) -> Response:
        board = dashboard(request)
        reader = board.reader
        got = await gather_dict(
            {
                "state": reader.state("ours"),
                "dispatches": reader.admin(
                    "ours", "GET", "/dispatches", params={"event_id": event_id}
                ),
                "sources": reader.admin("ours", "GET", "/sources"),
                "destinations": reader.admin("ours", "GET", "/destinations"),
                "runs": reader.all_runs(),
            }
        )
        if isinstance(got["state"], Exception):
            raise got["state"]
        found = next((e for e in got["state"].get("events", []) if e["id"] == event_id), None)
        if found is None:
            raise NotFoundError("ours", f"event {event_id}", 404, "no such event in Recent Events")
        reveal = revealed(request)
        dispatches = _ok(got["dispatches"], {"items": []})["items"]
        names = _names(got["sources"], got["destinations"])
        cid = found.get("correlation_id")
        runs = [r for r in _ok(got["runs"], []) if cid and r.get("correlation_id") == cid]
        return board.render(
            request,
            "ours_event.html",
            title=f"Ours event {event_id}",
            section="events",
            event=event_view(mask(found, reveal), dispatches, names),
            raw=mask(found, reveal),
            dispatches=[mask(d, reveal) for d in dispatches],
            runs=runs,
        )


# helpers ------------------------------------------------------------------------------------


def filter_leads(leads: list[dict[str, Any]], query: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """The vendor's GET /api/v1/leads filters and paging ([C] whatconverts.md §3/§5.2: type,
    status, date range; newest first; ``page_number``, ``leads_per_page`` up to 2,500) over the
    exported state, with the vendor's error text for a bad parameter."""
    empty = {"page_number": 1, "leads_per_page": PAGE_DEFAULT, "total_pages": 0,
             "total_leads": 0, "leads": []}  # fmt: skip
    if query["lead_type"] and query["lead_type"] not in LEAD_TYPES:
        return "Invalid lead_type parameter.", empty
    if query["lead_status"] and query["lead_status"] not in LEAD_STATUS:
        return "Invalid lead_status parameter.", empty
    bounds = []
    for name in ("start_date", "end_date"):
        text = query[name].strip()
        try:
            bounds.append(date.fromisoformat(text[:10]).isoformat() if text else "")
        except ValueError:
            return f"Invalid {name} parameter: use YYYY-MM-DD.", empty
    try:
        page = int(query["page_number"] or 1)
        per_page = int(query["leads_per_page"] or PAGE_DEFAULT)
    except ValueError:
        return "Invalid page_number or leads_per_page parameter.", empty
    if page < 1:
        return "Invalid page_number parameter.", empty
    if not 1 <= per_page <= PAGE_MAX:
        return f"Invalid leads_per_page parameter: the maximum is {PAGE_MAX}.", empty
    want_type = LEAD_TYPES.get(query["lead_type"])
    want_status = LEAD_STATUS.get(query["lead_status"])
    start, end = bounds
    chosen = [
        lead
        for lead in leads
        if (not want_type or lead.get("lead_type") == want_type)
        and (not want_status or lead.get("lead_status") == want_status)
        and (not start or str(lead.get("date_created", ""))[:10] >= start)
        and (not end or str(lead.get("date_created", ""))[:10] <= end)
    ]
    chosen.sort(key=lambda lead: (lead.get("date_created") or "", lead["lead_id"]), reverse=True)
    total = len(chosen)
    return "", {
        "page_number": page,
        "leads_per_page": per_page,
        "total_pages": (total + per_page - 1) // per_page,
        "total_leads": total,
        "leads": chosen[(page - 1) * per_page : page * per_page],
    }


def event_view(
    event: dict[str, Any], dispatches: list[dict[str, Any]], names: dict[str, str]
) -> dict[str, Any]:
    """An event as Recent Events shows it, with what each destination received (or why not)."""
    status = event.get("status")
    sent = [d for d in dispatches if d.get("event_id") == event["id"]]
    outcome: list[dict[str, str]] = []
    if status == "test":
        outcome.append({"kind": "none", "text": "not dispatched: test mode"})
    elif status in ("filtered", "dropped"):
        outcome.append({"kind": "none", "text": "blocked: not on the allow-list"})
    elif status == "accepted":
        outcome.append({"kind": "wait", "text": "in the pipeline"})
    for d in sent:
        outcome.append(
            {
                "kind": "sent",
                "text": f"{names.get(d['destination'], d['destination'])}: received",
                "dispatch": d["id"],
            }
        )
    for dest in event.get("blocked_by_governance") or []:
        outcome.append(
            {"kind": "none", "text": f"{names.get(dest, dest)}: blocked by data governance"}
        )
    for error in event.get("errors") or []:
        where = error.get("destination")
        prefix = f"{names.get(where, where)}: " if where else ""
        outcome.append({"kind": "error", "text": f"{prefix}{error.get('error')}"})
    if status == "processed" and not sent:
        outcome.append({"kind": "none", "text": "no destination took it"})
    return {
        **event,
        "source_name": names.get(event.get("source", ""), event.get("source")),
        "outcome": outcome,
    }


def _names(*answers: Any) -> dict[str, str]:
    names: dict[str, str] = {}
    for answer in answers:
        if isinstance(answer, dict):
            for item in answer.get("items", []):
                names[str(item.get("id"))] = str(item.get("name") or item.get("id"))
    return names


def _ok(value: Any, default: Any) -> Any:
    return default if isinstance(value, Exception) else value


async def _none() -> None:
    return None


def _json_or_text(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _caspio_problem(status: int, body: Any) -> str:
    if isinstance(body, dict):
        return f"Caspio answered {status} {body.get('Code', '')}: {body.get('Message', body)}"
    return f"Caspio answered {status}: {str(body)[:300]}"
