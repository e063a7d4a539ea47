"""The processing pipeline: allow-list → data governance → mappings → destinations.

[C] ours-privacy.md §9 order: Source → Allowed Events → Data Governance → per-destination
Mappings → Destination. [C] §6 processing is asynchronous: an answered request is only
``accepted``; the pipeline runs afterwards in background tasks that ``kernel.settle()`` waits for
(``GET /__sandbox/events`` and ``/dispatches`` settle first, so they show processed events).

Test mode ([C] §7): a test-key event passes the allow-list, is kept in Recent Events tagged
``test`` and stops there — ``_dispatch`` refuses any event that is not live.

The building blocks (modifications, templates, logic trees) are in mapping.py; a destination's
mappings are compiled once (compiled.py) and then applied per event.
"""

from __future__ import annotations

import asyncio
from functools import lru_cache
from typing import Any

from careflow.mocks.kernel import Kernel, format_instant, next_order, parse_instant

from .compiled import apply, compiled_mappings
from .destinations import Destination, Mapping, deliver
from .mapping import _set_path, default_phi, evaluate, modify, render
from .models import OursBackend
from .phi import PhiKind, kind_of_name, kind_of_value, template_reads_phi
from .state import AllowedEvent, OursState
from .validation import IDENTIFY

# --- the pipeline -------------------------------------------------------------------------------


@lru_cache(maxsize=256)  # events of one batch share their instant
def _epoch(time: str) -> tuple[int, int]:
    """(seconds, microseconds) since the epoch of an event's ``time``."""
    when = parse_instant(time)
    return int(when.timestamp()), int(when.timestamp() * 1_000_000)


def event_view(event: dict[str, Any]) -> dict[str, Any]:
    """What templates and governance see as ``event``. [C] §9 variables event.*"""
    seconds, micros = _epoch(event["time"])
    ctx = event.get("identity_context") or {}
    return {
        "id": event["id"],
        "event": event["event"],
        "distinct_id": event["distinct_id"],
        "email": event["identifiers"]["email"],
        "external_id": event["identifiers"]["externalId"],
        "user_id": event["identifiers"]["userId"],
        "source_id": event["source"],
        "time": event["time"],
        "time_seconds": seconds,
        "time_micros": micros,
        "event_properties": event.get("properties") or {},
        "user_properties": event.get("user_properties") or {},
        "default_properties": event.get("default_properties") or {},
        "request_context": {"ip": ctx.get("ip"), "user_agent": ctx.get("userAgent")},
    }


def build_payload(destination: Destination, context: dict[str, Any]) -> dict[str, Any]:
    """Apply a destination's mappings. Whatever no mapping gave a modification gets the
    destination's default PHI treatment when phi.py finds PHI in it — by field name, by the
    variable the mapping reads, or by value — however deep it sits (e.g. inside custom_data)."""
    compiled = compiled_mappings(destination)
    if compiled is not None:  # no property under another: decided per mapping, once
        return apply(destination, compiled, context)
    return general_payload(destination, context)


def general_payload(destination: Destination, context: dict[str, Any]) -> dict[str, Any]:
    """build_payload for any mappings: render all, then scrub the whole payload."""
    payload: dict[str, Any] = {}
    explicit: set[str] = set()
    reads_phi: dict[str, PhiKind] = {}
    for mapping in destination.effective_mappings():
        if mapping.logic and not evaluate(mapping.logic, context):
            continue
        value = render(mapping.map, context)
        if value is None or value == "":
            continue
        if mapping.modification is not None:
            value = modify(value, mapping.modification, destination.hashing_salt)
            explicit.add(mapping.property)
        elif (kind := template_reads_phi(mapping.map)) is not None:
            reads_phi[mapping.property] = kind
        _set_path(payload, mapping.property, value)
    return _Scrubber(destination, explicit, reads_phi).scrub(payload, "", None)


class _Scrubber:
    def __init__(
        self, destination: Destination, explicit: set[str], reads_phi: dict[str, PhiKind]
    ) -> None:
        self.policy, self.salt = destination.phi_default, destination.hashing_salt
        self.explicit, self.reads_phi = explicit, reads_phi

    def scrub(self, value: Any, path: str, kind: PhiKind | None) -> Any:
        """``kind``: PHI known from an enclosing name (everything below it is protected)."""
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                here = f"{path}.{key}" if path else str(key)
                if here in self.explicit:
                    out[key] = item  # the mapping's own modification decides
                    continue
                inner = kind or self.reads_phi.get(here) or kind_of_name(str(key))
                out[key] = self.scrub(item, here, inner)
            return out
        if isinstance(value, list):
            return [self.scrub(item, path, kind) for item in value]
        found = kind or kind_of_value(value)
        return value if found is None else default_phi(value, found, self.policy, self.salt)


class _Run:
    """What one run of the pipeline (a request's events, under the state's lock) works out
    once: its instant and the allow-list entries by event name."""

    def __init__(self, now: str) -> None:
        self.now = now
        self.allow_list: dict[str, AllowedEvent | None] = {}


class Pipeline:
    """Runs accepted events through the pipeline in background tasks on the running loop."""

    def __init__(self, kernel: Kernel, backend: OursBackend) -> None:
        self.kernel = kernel
        self.backend = backend
        self._tasks: set[asyncio.Task[Any]] = set()
        # events a previous process accepted but did not process (a restart on a data dir):
        # taken up by the first submit or settle
        self._resume = kernel.data_dir is not None
        self._formatted: tuple[Any, str] = (None, "")
        kernel.on_settle(self.drain)

    def _take_up_leftovers(self) -> None:
        if not self._resume:
            return
        self._resume = False
        for tenant in self.backend.tenants():
            state = self.backend.state(tenant)
            left = [e["id"] for e in state.events if e["status"] == "accepted"]
            if left:
                self.submit(tenant, left)

    def submit(self, tenant: str, event_ids: list[str]) -> None:
        self._take_up_leftovers()
        if not event_ids:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.process(tenant, event_ids)  # no loop (sync caller): process inline
            return
        task = loop.create_task(self._run(tenant, event_ids))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, tenant: str, event_ids: list[str]) -> None:
        await asyncio.sleep(0)  # after the response: the pipeline is asynchronous
        self.process(tenant, event_ids)

    async def drain(self) -> None:
        self._take_up_leftovers()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def process(self, tenant: str, event_ids: list[str]) -> None:
        if not self.backend.has_tenant(tenant):
            return  # the tenant was reset or dropped meanwhile
        state = self.backend.state(tenant)
        durable = self.backend.durable is not None  # (else there is nothing to mark)
        with state.lock:
            run = _Run(self._now())
            for event_id in event_ids:
                event = state.events_by_id.get(event_id)
                if event is None or event["status"] != "accepted":
                    continue
                try:
                    self._process_one(tenant, state, event, run)
                except Exception as exc:  # keep the pipeline alive; show what went wrong
                    event["status"] = "error"
                    event.setdefault("errors", []).append({"error": f"{type(exc).__name__}: {exc}"})
                if durable:
                    self.backend.changed(state, "events", event_id)
        self.kernel.flush()  # with a data dir: the pipeline's progress is kept too

    def _process_one(self, tenant: str, state: OursState, event: dict[str, Any], run: _Run) -> None:
        name = event["event"]
        if name in run.allow_list:
            allowed = run.allow_list[name]
        else:
            allowed = run.allow_list[name] = self.backend.allowed(state, name)
        if allowed is None:
            # [C] §9 not allow-listed → dropped, hidden from Recent Events. DESIGN.md: $identify
            # is shown all the same (it only sets properties), but goes nowhere.
            event["status"] = "filtered" if event["event"] == IDENTIFY else "dropped"
            return
        if event["mode"] != "live":
            event["status"] = "test"  # [C] §7 never forwarded to destinations
            return
        visitor = state.visitors["live"].get(event["visitor_id"])
        context = {"event": event_view(event), "visitor": visitor.view() if visitor else {}}
        blocked = {
            dest_id
            for category in state.governance
            if evaluate(category.logic, context)
            for dest_id in category.destination_ids
        }
        sent = []
        for dest_id in allowed.destination_ids:
            destination = state.destinations.get(dest_id)
            if (
                destination is None
                or not destination.active
                or not destination.takes_source(event["source"])
                or dest_id in blocked
            ):
                continue
            try:
                payload = build_payload(destination, context)
            except ValueError as exc:  # a broken mapping stops this destination, not the event
                event.setdefault("errors", []).append({"destination": dest_id, "error": str(exc)})
                continue
            self._dispatch(tenant, state, destination, event, payload, run.now)
            sent.append(dest_id)
        event["destinations"] = sent
        event["blocked_by_governance"] = (
            sorted(blocked & set(allowed.destination_ids)) if blocked else []
        )
        event["status"] = "dispatched" if sent else "processed"

    def _now(self) -> str:
        """The clock's instant as text, formatted once per instant (a batch dispatches
        thousands of events at one virtual instant)."""
        now = self.kernel.clock.now()
        if self._formatted[0] != now:
            self._formatted = (now, format_instant(now))
        return self._formatted[1]

    def _dispatch(
        self,
        tenant: str,
        state: OursState,
        destination: Destination,
        event: dict[str, Any],
        payload: dict[str, Any],
        now: str,
    ) -> None:
        if event["mode"] != "live":  # the one gate every dispatch passes
            raise AssertionError("a test-mode event must never reach a destination")
        record = {
            "id": state.next_id("dsp"),
            "event_id": event["id"],
            "event": event["event"],
            "destination": destination.id,
            "destination_type": destination.type,
            "payload": payload,
            "time": now,
            "correlation_id": event.get("correlation_id"),
            "order": next_order(),
        }
        record.update(deliver(self.kernel, tenant, destination, event, payload))
        state.dispatches.append(record)
        state.sources[event["source"]].last_dispatched_at = record["time"]
        if self.backend.durable is not None:  # (nothing to mark in memory: the hot path)
            self.backend.changed(state, "dispatches", record["id"])
            self.backend.changed(state, "sources", event["source"])
            self.backend.changed(state, "counter")


__all__ = ["Mapping", "Pipeline", "build_payload", "default_phi", "evaluate", "modify", "render"]
