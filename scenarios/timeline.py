"""One timeline across fakes and engine: requests, webhooks, runs, steps, dispatches."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.table import Table

from .driver import StackDriver
from .stack import fakes


@dataclass(order=True)
class Event:
    time: str
    order: int  # process-monotonic stamp: orders what one virtual instant holds
    seq: int
    service: str
    kind: str
    what: str
    status: str
    correlation_id: str
    # what the row is about, for links (dashboard): ("run", id), ("journal", id), ...
    ref: tuple[str, str] = field(default=("", ""), compare=False)

    def row(self, short: bool = True) -> list[str]:
        clock = self.time[11:19] if len(self.time) >= 19 else self.time
        cid = self.correlation_id or "-"
        if short and len(cid) > 14:
            cid = cid[:12] + "…"  # still unique enough to follow by eye
        return [clock, cid, self.service, self.kind, self.what, self.status]


@dataclass
class Sources:
    """What a timeline is made of, as the stack's HTTP APIs answer it."""

    journals: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    deliveries: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    dispatches: list[dict[str, Any]] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)  # newest first, as the API lists


def collect(driver: StackDriver, leads: dict[str, list[str]] | None = None) -> list[Event]:
    """Everything the stack recorded, oldest first (virtual time); see ``build``."""
    sources = Sources()
    for service in fakes():
        try:
            sources.journals[service] = driver.admin(service, "GET", "/journal")["items"]
            sources.deliveries[service] = driver.admin(service, "GET", "/webhooks/deliveries")[
                "items"
            ]
        except AssertionError:
            continue
    try:
        sources.dispatches = driver.admin("ours", "GET", "/dispatches")["items"]
    except (AssertionError, KeyError):
        sources.dispatches = []
    try:
        sources.runs = driver.runs()
    except AssertionError:
        sources.runs = []
    return build(sources, leads)[0]


def build(
    sources: Sources, leads: dict[str, list[str]] | None = None
) -> tuple[list[Event], dict[str, str]]:
    """The timeline, oldest first (virtual time), and the correlation ids it re-labelled.

    ``leads`` maps a WhatConverts lead id to the correlation ids of the requests that created or
    changed it. A polling trigger cannot carry a request's id (a poll is not caused by one), so
    its runs get an id of their own; with ``leads`` such a run — and the vendor calls it made —
    is shown under the id of the latest request before it that touched its lead. The second
    value maps each such run's own id to the id it is shown under."""
    events: list[Event] = []
    seq = 0

    def add(**kw: Any) -> None:
        nonlocal seq
        seq += 1
        events.append(Event(seq=seq, **kw))

    for service in sources.journals:
        for e in sources.journals.get(service, []):
            fault = f" fault:{e['fault']['kind']}" if e.get("fault") else ""
            add(
                time=e["time"],
                order=e.get("order") or 0,
                service=service,
                kind="request",
                what=f"{e['method']} {e['path']}",
                status=f"{e['status']}{fault}",
                correlation_id=e.get("correlation_id") or "",
                ref=("journal", str(e.get("id", ""))),
            )
        for d in sources.deliveries.get(service, []):
            add(
                time=d["created_at"],
                order=d.get("order") or 0,
                service=service,
                kind="webhook",
                what=f"→ {d['url']} ({d.get('event') or 'event'})",
                status=f"{d['status']} x{d['attempts']}",
                correlation_id=d.get("correlation_id") or "",
                ref=("delivery", str(d.get("id", ""))),
            )
    for x in sources.dispatches:
        add(
            time=x["time"],
            order=x.get("order") or 0,
            service="ours",
            kind="dispatch",
            what=f"{x['event']} → {x['destination']}",
            status="sent",
            correlation_id=x.get("correlation_id") or "",
            ref=("event", str(x.get("event_id", ""))),
        )
    polled: dict[str, str] = {}  # run id -> lead id, for runs a lead triggered
    for r in reversed(sources.runs):
        lead_id = (r.get("trigger") or {}).get("lead_id")
        if lead_id is not None and leads and str(lead_id) in leads:
            polled[r["id"]] = str(lead_id)
        add(
            time=r.get("started_at") or "",
            order=r.get("order") or 0,
            service="engine",
            kind="run",
            what=f"run {r['id']} of workflow {r['workflow_id']}"
            + (f" (retry of {r['retry_of']})" if r.get("retry_of") else ""),
            status=r["status"],
            correlation_id=r.get("correlation_id") or "",
            ref=("run", r["id"]),
        )
        time, order = r.get("started_at") or "", r.get("order") or 0
        for s in r.get("steps", []):
            # a step that never started (skipped) sorts right after the one before it
            time, order = s.get("started_at") or time, s.get("order") or order
            add(
                time=time,
                order=order,
                service="engine",
                kind="step",
                what=f"  {s['id']}",
                status=f"{s['status']} x{s.get('attempts', 1)}"
                + (f" {s['error']}" if s.get("error") else ""),
                correlation_id=r.get("correlation_id") or "",
                ref=("run", r["id"]),
            )
    events.sort()
    alias: dict[str, str] = {}
    if polled and leads:
        alias = _link_polled_runs(events, polled, leads)
    return events, alias


def _link_polled_runs(
    events: list[Event], polled: dict[str, str], leads: dict[str, list[str]]
) -> dict[str, str]:
    first_seen: dict[str, int] = {}
    for index, event in enumerate(events):
        if event.kind == "request":
            first_seen.setdefault(event.correlation_id, index)
    alias: dict[str, str] = {}
    for index, event in enumerate(events):
        run_id = event.what.split(" ")[1] if event.kind == "run" else None
        if run_id not in polled:
            continue
        earlier = [c for c in leads[polled[run_id]] if first_seen.get(c, index) < index]
        if earlier and event.correlation_id not in alias:
            alias[event.correlation_id] = max(earlier, key=lambda c: first_seen[c])
    for event in events:
        event.correlation_id = alias.get(event.correlation_id, event.correlation_id)
    return alias


COLUMNS = ("time", "correlation id", "service", "kind", "what — status")


def render(events: list[Event], title: str = "timeline", follow: str | None = None) -> Table:
    """The timeline as a Rich table (one row per event)."""
    table = Table(title=title, show_lines=False)
    for column in ("time", "correlation id", "service", "kind", "what", "status"):
        table.add_column(column, overflow="fold")
    for event in events:
        if follow and not event.correlation_id.startswith(follow):
            continue
        table.add_row(*event.row())
    return table


def render_lines(events: list[Event], follow: str | None = None) -> list[str]:
    """The timeline as aligned plain lines, a header first: one event per line, never broken
    by careflow (a path or an id stays whole; a terminal narrower than a line wraps it)."""
    rows = [e.row() for e in events if not follow or e.correlation_id.startswith(follow)]
    if not rows:
        return ["(nothing recorded)"]
    cells = [[*row[:4], f"{row[4].rstrip()} — {row[5]}" if row[5] else row[4]] for row in rows]
    widths = [max(len(c[i]) for c in [list(COLUMNS), *cells]) for i in range(4)]
    out = []
    for c in [list(COLUMNS), *cells]:
        out.append("  ".join([*(v.ljust(w) for v, w in zip(c[:4], widths, strict=True)), c[4]]))
    return out
