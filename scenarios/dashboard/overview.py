"""``/ui/``: services, health, the shared clock, counts per fake, recent runs and failures; and the
two switches every page has (reveal synthetic values, the clock buttons)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from .present import credentials_view
from .reader import ServiceError, gather_dict
from .web import REVEAL_COOKIE, dashboard, redirect, revealed

CLOCK_STEPS = (("+1 min", 60), ("+5 min", 300), ("+1 h", 3600), ("+1 day", 86400))


def register(router: APIRouter) -> None:
    @router.get("/")
    async def overview(request: Request) -> Response:
        board = dashboard(request)
        reader = board.reader
        info = await reader.info()
        got = await gather_dict(
            {
                "health": reader.health(),
                "clock": reader.clock(),
                "runs": reader.runs_page(limit=8),
                "failed": reader.runs_page(status="Failed", limit=5),
                "workflows": reader.workflows(),
                "counts": counts(reader),
            }
        )
        services = [
            {
                "name": name,
                "url": info[name]["url"],
                "docs": f"{info[name]['url']}/__sandbox/docs"
                if name != "engine"
                else "/ui/api-docs",
                "health": got["health"].get(name, {}) if isinstance(got["health"], dict) else {},
                "credentials": credentials_view(info[name]),
            }
            for name in await reader.services()
        ]
        workflows = got["workflows"] if isinstance(got["workflows"], list) else []
        return board.render(
            request,
            "overview.html",
            title="Overview",
            section="overview",
            services=services,
            clock=got["clock"] if isinstance(got["clock"], dict) else {},
            problems=[str(v) for v in got.values() if isinstance(v, ServiceError)],
            clock_steps=CLOCK_STEPS,
            runs=got["runs"][0] if isinstance(got["runs"], tuple) else [],
            failed=got["failed"][0] if isinstance(got["failed"], tuple) else [],
            workflow_names={w["id"]: w["name"] for w in workflows},
            active_workflows=sum(1 for w in workflows if w["status"] == "active"),
            workflow_count=len(workflows),
            counts=got["counts"],
        )

    @router.post("/clock")
    async def move_clock(request: Request) -> Response:
        form = await request.form()
        back = str(form.get("next") or "/ui/")
        body: dict[str, Any] = {}
        what = ""
        if form.get("advance_seconds"):
            try:
                seconds = float(str(form["advance_seconds"]))
            except ValueError:
                return redirect(request, back, "The clock moves by a number of seconds.")
            body["advance_seconds"] = seconds
            what = f"Clock advanced by {_duration(seconds)}."
        elif form.get("frozen") in ("true", "false"):
            body["frozen"] = form["frozen"] == "true"
            what = "Clock frozen." if body["frozen"] else "Clock running again."
        elif form.get("set"):
            moment = str(form["set"]).strip()
            if len(moment) == 16:  # <input type="datetime-local">: minutes, no zone → UTC
                moment += ":00Z"
            elif len(moment) == 19:
                moment += "Z"
            body["set"] = moment
            what = f"Clock set to {moment}."
        else:
            return redirect(request, back, "Nothing to do: pick an advance, freeze or a time.")
        try:
            await dashboard(request).reader.move_clock(body)
        except ServiceError as exc:
            return redirect(request, back, f"The clock did not move: {exc.detail}")
        return redirect(request, back, what)

    @router.post("/reveal")
    async def reveal(request: Request) -> Response:
        form = await request.form()
        back = str(form.get("next") or "/ui/")
        on = form.get("reveal", "1" if not revealed(request) else "0") == "1"
        response = redirect(
            request,
            back,
            "Synthetic values are shown." if on else "PHI-marked values are masked.",
        )
        response.set_cookie(
            REVEAL_COOKIE,
            "1" if on else "0",
            max_age=365 * 86400,
            path="/ui",
            samesite="strict",
            httponly=False,  # the page's script reads it to keep the switch in step
        )
        return response


async def counts(reader: Any) -> dict[str, list[tuple[str, Any]]]:
    """A few numbers per fake, from the admin API (nothing metered)."""
    fakes = await reader.fakes()
    got = await gather_dict(
        {
            "whatconverts": reader.state("whatconverts"),
            "quota": reader.admin("whatconverts", "GET", "/quota"),
            "caspio": reader.state("caspio"),
            "events": reader.admin("ours", "GET", "/events"),
            "dispatches": reader.admin("ours", "GET", "/dispatches"),
            **{f"faults_{s}": reader.admin(s, "GET", "/faults") for s in fakes},
        }
    )
    out: dict[str, list[tuple[str, Any]]] = {}
    wc = got["whatconverts"]
    if isinstance(wc, dict):
        out["whatconverts"] = [
            ("leads", len(wc.get("leads", {}))),
            ("webhooks", len(wc.get("webhooks", []))),
        ]
        quota = got["quota"]
        if isinstance(quota, dict):
            used = sum(u.get("requests", 0) for u in quota.get("usage", []))
            limit = quota.get("limits", {}).get("profile", 0)
            out["whatconverts"].append(
                ("API requests today", f"{used:,} (profile key: {limit:,}/day)")
            )
    caspio = got["caspio"]
    if isinstance(caspio, dict):
        tables = caspio.get("tables", {})
        meter = caspio.get("meter", {})
        out["caspio"] = [
            ("tables", len(tables)),
            ("records", sum(len(t.get("rows", [])) for t in tables.values())),
            ("outgoing webhooks", len(caspio.get("webhooks", {}))),
            ("integration calls", f"{meter.get('used', 0):,} of {meter.get('allowance', 0):,}"),
        ]
    events = got["events"]
    if isinstance(events, dict):
        items = events["items"]
        dispatches = got["dispatches"]
        out["ours"] = [
            ("events (live)", sum(1 for e in items if e.get("mode") == "live")),
            ("events (test mode)", sum(1 for e in items if e.get("mode") == "test")),
            ("dispatches", len(dispatches["items"]) if isinstance(dispatches, dict) else "?"),
        ]
    for service in fakes:
        faults = got[f"faults_{service}"]
        if isinstance(faults, dict):
            out.setdefault(service, []).append(("faults", len(faults["items"])))
    return out


def _duration(seconds: float) -> str:
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            n = int(seconds // size)
            return f"{n} {unit}" + ("s" if unit == "day" and n > 1 else "")
    return f"{seconds:g} s"
