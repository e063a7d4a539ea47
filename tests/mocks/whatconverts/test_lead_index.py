"""The lead index gives an unfiltered page exactly as sorting every lead would
(whatconverts.md §5.2 order: date_created, then lead_id), for any profiles, page and order, as
leads are added."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from careflow.mocks.whatconverts.lead_index import LeadIndex, index_of, note_stored

LEADS = st.lists(
    st.tuples(st.sampled_from([101, 102, 103]), st.integers(0, 20)),  # (profile, day)
    max_size=40,
)


def lead(lead_id: int, profile: int, day: int) -> dict[str, Any]:
    return {"lead_id": lead_id, "profile_id": profile, "date_created": f"2026-01-{day + 1:02d}"}


def brute(leads: dict[int, dict[str, Any]], profiles: set[int], desc: bool) -> list[int]:
    chosen = [x for x in leads.values() if x["profile_id"] in profiles]
    chosen.sort(key=lambda x: (x["date_created"], x["lead_id"]), reverse=desc)
    return [x["lead_id"] for x in chosen]


@settings(max_examples=60, deadline=None)
@given(
    LEADS,
    LEADS,
    st.sets(st.sampled_from([101, 102, 103, 104])),
    st.integers(0, 30),
    st.integers(1, 10),
    st.booleans(),
)
def test_a_page_is_the_sorted_slice(
    first: list[Any], later: list[Any], profiles: set[int], offset: int, count: int, desc: bool
) -> None:
    state = SimpleNamespace(leads={})
    for i, (profile, day) in enumerate(first):
        state.leads[i + 1] = lead(i + 1, profile, day)
    index_of(state)  # built now, then kept up to date as leads are stored
    for i, (profile, day) in enumerate(later, start=len(first) + 1):
        new = lead(i, profile, day)
        state.leads[i] = new
        note_stored(state, new, None)
    index = index_of(state)
    expected = brute(state.leads, profiles, desc)
    assert index.page(profiles, offset, count, descending=desc) == (
        len(expected),
        expected[offset : offset + count],
    )
    assert LeadIndex(state.leads).by_profile == index.by_profile  # same as a rebuild


def test_the_index_is_rebuilt_when_the_leads_are_replaced() -> None:
    state = SimpleNamespace(leads={1: lead(1, 101, 1), 2: lead(2, 102, 2)})
    assert index_of(state).page({101, 102}, 0, 10, descending=True) == (2, [2, 1])
    state.leads = {k: v for k, v in state.leads.items() if v["profile_id"] != 102}
    assert index_of(state).page({101, 102}, 0, 10, descending=True) == (1, [1])
    moved = lead(1, 102, 5)  # a replacement in another place drops the index
    old, state.leads[1] = state.leads[1], moved
    note_stored(state, moved, old)
    assert index_of(state).page({102}, 0, 10, descending=False) == (1, [1])
