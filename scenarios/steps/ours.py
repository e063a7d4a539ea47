"""Ours Privacy in scenarios: ``track`` and ``identify`` with the live or Test Mode key, and
what the fake recorded and dispatched."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from ..driver import DriverError
from . import Outcome, StepContext, check, credentials, step, trigger
from .base import Counted, Strict, count_ok, want_count

if TYPE_CHECKING:
    from ..driver import StackDriver

NAME = "ours"
Mode = Literal["live", "test"]


def token(d: StackDriver, key: str = "live") -> str:
    c = d.creds(NAME)
    return c["test_token"] if key == "test" else c["token"]


def dispatches(d: StackDriver) -> list[dict[str, Any]]:
    return d.admin(NAME, "GET", "/dispatches")["items"]


def events(d: StackDriver) -> list[dict[str, Any]]:
    return d.admin(NAME, "GET", "/events")["items"]


# steps -------------------------------------------------------------------------------------


def _send(s: StepContext, endpoint: str, p: dict[str, Any]) -> Any:
    """The token goes in the body, as Ours takes it; ``key: test`` sends the Test Mode key."""
    p = dict(p)
    body = {"token": token(s.driver, p.pop("key", "live")), **p}
    response = s.driver.call(NAME, "POST", f"/api/v1/{endpoint}", json=body, correlation_id=s.cid)
    saved = response.json()
    if response.status_code != 200:
        raise DriverError(f"Ours /{endpoint} answered {response.status_code}: {saved}")
    return saved


@step("track")
def track(s: StepContext, p: dict[str, Any]) -> Any:
    return _send(s, "track", p)


@step("identify")
def identify(s: StepContext, p: dict[str, Any]) -> Any:
    return _send(s, "identify", p)


# expectations ------------------------------------------------------------------------------


class DispatchedExpect(Counted):
    event: str
    destination: str | None = Field(None, description="Part of the destination's name")


@check("dispatched", model=DispatchedExpect)
def dispatched(d: StackDriver, p: dict[str, Any], _ctx: dict[str, Any]) -> Outcome:
    items = [
        x
        for x in dispatches(d)
        if x["event"].lower() == p["event"].lower()
        and ("destination" not in p or p["destination"].lower() in x["destination"].lower())
    ]
    return Outcome(
        count_ok(p, len(items)),
        f"{want_count(p)} dispatch(es) of {p['event']!r}"
        + (f" to {p['destination']!r}" if "destination" in p else ""),
        [(x["event"], x["destination"]) for x in dispatches(d)][-10:],
    )


class NotDispatchedExpect(Strict):
    event: str | None = None
    mode: Mode | None = None


@check("not_dispatched", model=NotDispatchedExpect)
def not_dispatched(d: StackDriver, p: dict[str, Any], _ctx: dict[str, Any]) -> Outcome:
    recorded = events(d)
    if "mode" in p:
        recorded = [e for e in recorded if e["mode"] == p["mode"]]
    if "event" in p:
        recorded = [e for e in recorded if e["event"].lower() == p["event"].lower()]
    ids = {e["id"] for e in recorded}
    leaked = [x for x in dispatches(d) if x["event_id"] in ids]
    if "event" in p and "mode" not in p:
        leaked = [x for x in dispatches(d) if x["event"].lower() == p["event"].lower()]
    return Outcome(
        not leaked, f"no dispatch of {p}", [(x["event"], x["destination"]) for x in leaked]
    )


class EventRecordedExpect(Counted):
    event: str
    mode: Mode | None = None


@check("event_recorded", model=EventRecordedExpect)
def event_recorded(d: StackDriver, p: dict[str, Any], _ctx: dict[str, Any]) -> Outcome:
    found = [
        e
        for e in events(d)
        if e["event"].lower() == p["event"].lower() and e["mode"] == p.get("mode", e["mode"])
    ]
    return Outcome(
        count_ok(p, len(found)),
        f"{want_count(p)} Recent Event(s) {p}",
        [(e["event"], e["mode"], e["status"]) for e in events(d)][-10:],
    )


# authentication ----------------------------------------------------------------------------


@credentials(NAME, keys=("live", "test"))
def keys(base: dict[str, Any], key: str | None) -> dict[str, Any]:
    """One token per authentication: the live key, or (``key: test``) the Test Mode key."""
    if key == "test":
        return {"url": base["url"], "token": base["test_token"], "mode": "test"}
    return {"url": base["url"], "token": base["token"]}


# careflow trigger ---------------------------------------------------------------------------


@trigger(f"{NAME}.track")
def trigger_track(s: StepContext, overrides: dict[str, Any]) -> dict[str, Any]:
    """A lead_created event for a synthetic visitor (event=NAME, key=test for Test Mode)."""
    from careflow.mocks.kernel import Synthetic

    person = Synthetic(seed=overrides.pop("seed", None) or secrets.randbits(32)).person()
    body = {
        "event": "lead_created",
        "email": person["email"],
        "properties": {"source": "careflow trigger"},
        **overrides,
    }
    track(s, body)
    return {"event": body["event"], "key": body.get("key", "live"), "email": body.get("email")}
