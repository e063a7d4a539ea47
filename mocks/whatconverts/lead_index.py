"""The leads of one state in list order, per profile (facts: docs/vendors/whatconverts.md): a
default page (no filters) costs its own size, however many leads are stored.

A lead's place is ``(date_created, lead_id)`` within its ``profile_id``; none of the three can
change once stored (§5.5: only quotable, values, lead_url and the maps are editable), so the
index only grows with new leads. It belongs to one ``state.leads`` dict and is rebuilt when that
dict was replaced (accounts or profiles deleted, state imported) or changed size behind its back.
"""

from __future__ import annotations

import heapq
from bisect import insort
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

Place = tuple[str, int]  # (date_created, lead_id)
ATTRIBUTE = "_lead_index"  # kept on the state object, outside its dataclass fields (not saved)


class LeadIndex:
    def __init__(self, leads: dict[int, dict[str, Any]]) -> None:
        self.source = leads
        self.size = len(leads)
        self.by_profile: dict[int, list[Place]] = {}
        for lead in leads.values():
            self.by_profile.setdefault(lead["profile_id"], []).append(
                (lead["date_created"], lead["lead_id"])
            )
        for places in self.by_profile.values():
            places.sort()

    def serves(self, leads: dict[int, dict[str, Any]]) -> bool:
        return leads is self.source and len(leads) == self.size

    def added(self, lead: dict[str, Any]) -> None:
        """A new lead was stored in ``source``."""
        insort(
            self.by_profile.setdefault(lead["profile_id"], []),
            (lead["date_created"], lead["lead_id"]),
        )
        self.size += 1

    def page(
        self, profiles: Iterable[int], offset: int, count: int, *, descending: bool
    ) -> tuple[int, list[int]]:
        """(leads in these profiles, the lead ids of one page in list order)."""
        lists = [self.by_profile[p] for p in set(profiles) if self.by_profile.get(p)]
        total = sum(len(places) for places in lists)
        if len(lists) == 1:
            places = lists[0]
            if descending:
                end = len(places) - offset
                chunk = places[max(0, end - count) : max(0, end)][::-1]
            else:
                chunk = places[offset : offset + count]
            return total, [lead_id for _date, lead_id in chunk]
        ordered: Iterator[Place] = (
            heapq.merge(*(reversed(p) for p in lists), reverse=True)
            if descending
            else heapq.merge(*lists)
        )
        return total, [lead_id for _date, lead_id in islice(ordered, offset, offset + count)]


def index_of(state: Any) -> LeadIndex:
    """The state's index, rebuilt when it no longer describes ``state.leads``."""
    index: LeadIndex | None = state.__dict__.get(ATTRIBUTE)
    if index is None or not index.serves(state.leads):
        index = LeadIndex(state.leads)
        state.__dict__[ATTRIBUTE] = index
    return index


def note_stored(state: Any, lead: dict[str, Any], old: dict[str, Any] | None) -> None:
    """Called right after ``lead`` was put in ``state.leads`` in place of ``old`` (None: a new
    lead): a new lead joins the index; a replacement that moved drops it (rebuilt when asked)."""
    index: LeadIndex | None = state.__dict__.get(ATTRIBUTE)
    if index is None or index.source is not state.leads:
        return
    if old is None and len(state.leads) == index.size + 1:
        index.added(lead)
    elif old is None or any(old[k] != lead[k] for k in ("profile_id", "date_created")):
        state.__dict__.pop(ATTRIBUTE, None)
