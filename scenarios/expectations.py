"""Expectations: each kind looks at the stack through its APIs and says what it saw."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .driver import StackDriver


@dataclass
class Outcome:
    ok: bool
    expected: Any
    actual: Any

    def __bool__(self) -> bool:
        return self.ok


Check = Callable[[StackDriver, dict[str, Any], dict[str, Any]], Outcome]
CHECKS: dict[str, Check] = {}


def check(kind: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        CHECKS[kind] = fn
        return fn

    return register


def subset(expected: dict[str, Any], actual: dict[str, Any]) -> bool:
    """Every expected key has the same value in ``actual`` (numbers compared as numbers)."""
    for key, want in expected.items():
        got = actual.get(key)
        if isinstance(want, dict) and isinstance(got, dict):
            if not subset(want, got):
                return False
        elif _norm(want) != _norm(got):
            return False
    return True


def _norm(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _count_ok(params: dict[str, Any], n: int) -> bool:
    if "count" in params:
        return n == params["count"]
    if "at_least" in params:
        return n >= params["at_least"]
    return n >= 1


def _want_count(params: dict[str, Any]) -> str:
    if "count" in params:
        return f"exactly {params['count']}"
    return f"at least {params.get('at_least', 1)}"


@check("run")
def run(d: StackDriver, p: dict[str, Any], ctx: dict[str, Any]) -> Outcome:
    workflow_id = ctx["workflows"][p["workflow"]]
    runs = d.runs(workflow_id)
    status = p.get("status", "Completed")
    matching = [r for r in runs if r["status"] == status]
    if "step" in p:
        matching = [
            r
            for r in matching
            if any(
                s["id"] == p["step"] and subset(p.get("output", {}), s.get("output") or {})
                for s in r.get("steps", [])
            )
        ]
    return Outcome(
        _count_ok(p, len(matching)),
        f"{_want_count(p)} run(s) of {p['workflow']!r} with status {status}",
        [
            {
                "id": r["id"],
                "status": r["status"],
                "steps": [(s["id"], s["status"], s.get("error")) for s in r.get("steps", [])],
            }
            for r in runs[:5]
        ],
    )


@check("caspio_row")
def caspio_row(d: StackDriver, p: dict[str, Any], _ctx: dict[str, Any]) -> Outcome:
    rows = d.caspio_rows(p["table"], p.get("where"))
    values = p.get("values", {})
    ok = any(subset(values, row) for row in rows)
    return Outcome(ok, {"table": p["table"], "where": p.get("where"), "values": values}, rows[:5])


@check("caspio_rows")
def caspio_rows(d: StackDriver, p: dict[str, Any], _ctx: dict[str, Any]) -> Outcome:
    rows = d.caspio_rows(p["table"], p.get("where"))
    return Outcome(_count_ok(p, len(rows)), f"{_want_count(p)} row(s)", f"{len(rows)} row(s)")


@check("caspio_webhooks")
def caspio_webhooks(d: StackDriver, p: dict[str, Any], _ctx: dict[str, Any]) -> Outcome:
    response = d.caspio("GET", "/outgoingWebhooks")
    body = response.json()
    hooks = body.get("Result", body) if isinstance(body, dict) else body
    if "name" in p:
        hooks = [h for h in hooks if h.get("Name") == p["name"]]
    if "name_contains" in p:
        hooks = [h for h in hooks if p["name_contains"] in h.get("Name", "")]
    return Outcome(
        _count_ok(p, len(hooks)),
        f"{_want_count(p)} outgoing webhook(s) matching {p}",
        [h.get("Name") for h in hooks],
    )


def _dispatches(d: StackDriver) -> list[dict[str, Any]]:
    return d.admin("ours", "GET", "/dispatches")["items"]


def _events(d: StackDriver) -> list[dict[str, Any]]:
    return d.admin("ours", "GET", "/events")["items"]


@check("dispatched")
def dispatched(d: StackDriver, p: dict[str, Any], _ctx: dict[str, Any]) -> Outcome:
    items = [
        x
        for x in _dispatches(d)
        if x["event"].lower() == p["event"].lower()
        and ("destination" not in p or p["destination"].lower() in x["destination"].lower())
    ]
    return Outcome(
        _count_ok(p, len(items)),
        f"{_want_count(p)} dispatch(es) of {p['event']!r}"
        + (f" to {p['destination']!r}" if "destination" in p else ""),
        [(x["event"], x["destination"]) for x in _dispatches(d)][-10:],
    )


@check("not_dispatched")
def not_dispatched(d: StackDriver, p: dict[str, Any], _ctx: dict[str, Any]) -> Outcome:
    events = _events(d)
    if "mode" in p:
        events = [e for e in events if e["mode"] == p["mode"]]
    if "event" in p:
        events = [e for e in events if e["event"].lower() == p["event"].lower()]
    ids = {e["id"] for e in events}
    leaked = [x for x in _dispatches(d) if x["event_id"] in ids]
    if "event" in p and "mode" not in p:
        leaked = [x for x in _dispatches(d) if x["event"].lower() == p["event"].lower()]
    return Outcome(
        not leaked, f"no dispatch of {p}", [(x["event"], x["destination"]) for x in leaked]
    )


@check("event_recorded")
def event_recorded(d: StackDriver, p: dict[str, Any], _ctx: dict[str, Any]) -> Outcome:
    events = [
        e
        for e in _events(d)
        if e["event"].lower() == p["event"].lower() and e["mode"] == p.get("mode", e["mode"])
    ]
    return Outcome(
        _count_ok(p, len(events)),
        f"{_want_count(p)} Recent Event(s) {p}",
        [(e["event"], e["mode"], e["status"]) for e in _events(d)][-10:],
    )


@check("meter")
def meter(d: StackDriver, p: dict[str, Any], ctx: dict[str, Any]) -> Outcome:
    used = caspio_meter_used(d)
    start = ctx.get("meter_start", 0)
    rose = used - start
    if "rose_by" in p:
        ok, want = rose == p["rose_by"], f"meter rose by exactly {p['rose_by']}"
    else:
        ok, want = rose >= p.get("rose_at_least", 1), f"meter rose by ≥ {p.get('rose_at_least', 1)}"
    return Outcome(ok, want, f"rose by {rose} (from {start} to {used})")


def caspio_meter_used(d: StackDriver) -> int:
    body = d.admin("caspio", "GET", "/meter")
    return int(body.get("used", body.get("calls", 0)))


@check("lead")
def lead(d: StackDriver, p: dict[str, Any], _ctx: dict[str, Any]) -> Outcome:
    found = d.get_lead(p["id"])
    fields = p.get("fields", {})
    return Outcome(subset(fields, found), fields, {k: found.get(k) for k in fields})


@check("trigger_test")
def trigger_test(d: StackDriver, p: dict[str, Any], ctx: dict[str, Any]) -> Outcome:
    workflow_id = ctx["workflows"][p["workflow"]]
    items = d.engine("POST", f"/api/workflows/{workflow_id}/test-trigger", expect=200).json()[
        "items"
    ]
    return Outcome(_count_ok(p, len(items)), f"{_want_count(p)} sample record(s)", len(items))


@check("http")
def http(d: StackDriver, p: dict[str, Any], _ctx: dict[str, Any]) -> Outcome:
    response = d.call(
        p["service"], p.get("method", "GET"), p["path"], json=p.get("json"), params=p.get("params")
    )
    body = response.json() if response.content else None
    ok = response.status_code == p.get("status", 200)
    if ok and "body" in p:
        ok = isinstance(body, dict) and subset(p["body"], body)
    return Outcome(
        ok,
        {"status": p.get("status", 200), "body": p.get("body")},
        {"status": response.status_code, "body": body},
    )
