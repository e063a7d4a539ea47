"""Events: recording an accepted event (Recent Events) with its idempotency key
([C] ours-privacy.md §3)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from careflow.mocks.kernel import correlation_id, format_instant

from .state import OursState, Source
from .validation import TrackInput
from .visitors import resolve_visitor

if TYPE_CHECKING:
    from .models import OursBackend


def _generated_id(state: OursState, source_id: str, mode: str) -> str:
    serial = state.next_id("distinct")
    digest = hashlib.sha256(f"ours-distinct:{source_id}:{mode}:{serial}".encode()).hexdigest()
    return f"ours_evt_{digest[:24]}"


class Events:
    """The event log of one backend: what the pipeline then dispatches."""

    def __init__(self, backend: OursBackend) -> None:
        self.backend = backend

    def ingest(
        self, state: OursState, source: Source, mode: str, row: TrackInput, stamp: str = ""
    ) -> dict[str, Any] | None:
        """Record an accepted event (status ``accepted``) or return None for a repeat.

        [C] §3 distinctId is the idempotency key: a repeat is answered like the first call but
        stored once. [I] scope: per source and mode (a source keeps its events across rotation).
        Only caller-supplied distinctIds are deduplicated: an id Ours generates ([C] §3 "if
        omitted Ours generates one") is never looked up, so an event sent without distinctId is
        never mistaken for a repeat. [?] a generated id is ``ours_evt_`` + 24 hex digits of a
        digest (unguessable, so no caller id collides with it downstream either) and skips any
        id a caller already used.
        """
        with state.lock:
            # ``stamp``: when the request was received (a /batch gives all its rows one instant)
            stamp = stamp or format_instant(self.backend.kernel.clock.now())
            if row.distinct_id:
                key = (source.id, mode, row.distinct_id)
                if key in state.seen:
                    return None
                state.seen.add(key)
                distinct_id = row.distinct_id
            else:
                distinct_id = _generated_id(state, source.id, mode)
                while (source.id, mode, distinct_id) in state.seen:
                    distinct_id = _generated_id(state, source.id, mode)
            source.last_triggered_at = stamp
            visitor = resolve_visitor(state, mode, row, stamp)
            event = {
                "id": state.next_id("evt"),
                "event": row.event,
                "mode": mode,
                "source": source.id,
                "distinct_id": distinct_id,
                "visitor_id": visitor.id,
                "identifiers": {
                    "userId": row.user_id,
                    "externalId": row.external_id,
                    "email": row.email,
                },
                "properties": row.event_properties,
                "received_at": stamp,
                "status": "accepted",
                "tags": ["test"] if mode == "test" else [],
                "time": format_instant(datetime.fromtimestamp(row.time_ms / 1000, UTC))
                if row.time_ms
                else stamp,
                "user_properties": row.user_properties,
                "default_properties": row.default_properties,
                "identity_context": row.identity_context,
                "destinations": [],
                # the request's X-Request-ID, so a timeline can follow it to each dispatch
                "correlation_id": correlation_id.get(),
            }
            state.events.append(event)
            state.events_by_id[event["id"]] = event
            return event
