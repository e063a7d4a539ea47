"""Following one thing across services: a lead's requests, its runs, rows and events.

All of it is worked out from what the HTTP APIs answer: the WhatConverts journal, the engine's
runs (whose trigger is the lead and whose step outputs are the Caspio rows), Ours Recent Events
(whose correlation id is the run's)."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

LEAD_PATH = re.compile(r"/api/v1/leads/(\d+)")


def lead_requests(
    journal: list[dict[str, Any]], leads: dict[str, dict[str, Any]]
) -> dict[str, list[str]]:
    """Lead id → correlation ids of the WhatConverts requests that created or changed it.

    An update names its lead in the path. A create names it in the journaled response body when
    the journal keeps one; otherwise the creates answered within one second are matched, in
    order, with the leads created in that second — only when the counts agree, so a guess is
    never shown as a link."""
    out: dict[str, list[str]] = defaultdict(list)
    creates: dict[str, list[str]] = defaultdict(list)
    for entry in journal:
        if entry.get("method") != "POST" or entry.get("status") != 200:
            continue
        cid = entry.get("correlation_id") or ""
        path = entry.get("path") or ""
        if path == "/api/v1/leads":
            body = entry.get("response_body")
            if isinstance(body, dict) and body.get("lead_id") is not None:
                out[str(body["lead_id"])].append(cid)
            else:
                creates[_second(entry.get("time"))].append(cid)
        elif match := LEAD_PATH.fullmatch(path):
            out[match[1]].append(cid)
    if creates:
        by_second: dict[str, list[int]] = defaultdict(list)
        for lead in leads.values():
            by_second[_second(lead.get("date_created"))].append(int(lead["lead_id"]))
        for second, cids in creates.items():
            ids = sorted(by_second.get(second, []))
            if len(ids) == len(cids):
                for lead_id, cid in zip(ids, cids, strict=True):
                    out[str(lead_id)].insert(0, cid)
    return dict(out)


def _second(stamp: Any) -> str:
    return str(stamp or "")[:19]


def runs_of_lead(runs: list[dict[str, Any]], lead_id: str) -> list[dict[str, Any]]:
    return [r for r in runs if str((r.get("trigger") or {}).get("lead_id")) == lead_id]


def caspio_rows_of_run(run: dict[str, Any]) -> list[dict[str, Any]]:
    """The Caspio records a run's steps wrote: table and PK_ID from each step's output."""
    rows = []
    for step in run.get("steps", []):
        if step.get("app") != "caspio" or not isinstance(step.get("input"), dict):
            continue
        table = step["input"].get("table")
        outputs = step.get("output")
        for out in outputs if isinstance(outputs, list) else [outputs]:
            if isinstance(out, dict) and out.get("PK_ID") is not None and table:
                rows.append({"table": table, "pk": out["PK_ID"], "step": step["id"]})
    return rows


def ours_events_of(
    events: list[dict[str, Any]], correlation_ids: set[str], lead_id: str | None = None
) -> list[dict[str, Any]]:
    """Recent Events a run sent (same correlation id) or that name the lead in a property."""
    found = []
    for event in events:
        props = event.get("properties") or {}
        if event.get("correlation_id") in correlation_ids or (
            lead_id is not None and str(props.get("lead_id")) == lead_id
        ):
            found.append(event)
    return found
