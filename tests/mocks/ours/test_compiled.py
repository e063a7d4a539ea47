"""Compiled destination mappings give the same payload (values, key order, PHI treatment) as
the general path, for every default mapping and PHI policy, whatever the event carries."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from careflow.mocks.ours.compiled import apply, compiled_mappings
from careflow.mocks.ours.destinations import DEFAULT_MAPPINGS, Destination, Mapping
from careflow.mocks.ours.pipeline import general_payload

KEYS = st.sampled_from(
    ["email", "phone", "first_name", "slot", "value", "notes", "graph", "em", "caller_name", "x"]
)
SCALARS = st.one_of(
    st.none(),
    st.integers(-5, 10**12),
    st.sampled_from(["pat@example.com", "+1 (212) 555-0104", "hello", "", "2125550104"]),
)
VALUES = st.recursive(
    SCALARS, lambda inner: st.dictionaries(KEYS, inner, max_size=3) | st.lists(inner, max_size=3)
)
EVENT = st.fixed_dictionaries(
    {
        "event": st.sampled_from(["lead_created", "Appointment Booked"]),
        "distinct_id": st.text(max_size=5),
        "time": st.just("2026-01-01T12:00:00Z"),
        "time_seconds": st.integers(0, 10**9),
        "time_micros": st.integers(0, 10**15),
        "event_properties": st.dictionaries(KEYS, VALUES, max_size=4),
    }
)
VISITOR = st.dictionaries(
    st.sampled_from(["id", "email", "phone_number", "external_id", "gclid", "fbc"]),
    SCALARS,
    max_size=6,
)


@settings(max_examples=80, deadline=None)
@given(
    st.sampled_from(sorted(DEFAULT_MAPPINGS)),
    st.sampled_from(["hash", "redact", "off"]),
    EVENT,
    VISITOR,
)
def test_compiled_equals_general(kind: str, policy: str, event: Any, visitor: Any) -> None:
    settings_ = {"url": "http://127.0.0.1:9/x"} if kind == "HTTPDestination" else {}
    destination = Destination("d1", kind, settings=settings_, phi_default=policy)
    context = {"event": event, "visitor": visitor}
    compiled = compiled_mappings(destination)
    assert compiled is not None
    fast, general = apply(destination, compiled, context), general_payload(destination, context)
    assert json.dumps(fast) == json.dumps(general)  # same values and the same key order


def test_overlapping_properties_take_the_general_path() -> None:
    mappings = [Mapping("user", "{{ visitor.id }}"), Mapping("user.email", "{{ visitor.email }}")]
    destination = Destination("d2", "Facebook", mappings=mappings)
    assert compiled_mappings(destination) is None


def test_new_mappings_are_compiled_again() -> None:
    destination = Destination("d3", "Facebook", mappings=[Mapping("a", "x")])
    assert apply(destination, compiled_mappings(destination) or [], {}) == {"a": "x"}
    destination.mappings = [Mapping("b", "y")]
    assert apply(destination, compiled_mappings(destination) or [], {}) == {"b": "y"}
