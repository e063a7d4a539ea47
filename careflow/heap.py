"""Garbage-collector settings of a process that serves the stack (``careflow up``, and the
benchmarks that stand for it).

The fakes allocate many small containers per request (parsed bodies, journal records, stored
events) and keep a large, long-lived heap (seeded state, routes, compiled specs, imported
modules). With CPython's default thresholds (700, 10, 10) the collector runs every few hundred
allocations and its older generations keep rescanning that heap: a ``/batch`` of 1,000 events
spent about 40% of its time in the collector. ``settle_heap`` freezes what was built (it is never
collected again) and raises the thresholds, so collections are rarer and look at young objects.
Cyclic garbage is still collected; it only waits longer.
"""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 20, 100)  # gen0 allocations, gen0 runs per gen1, gen1 runs per gen2


def hold_collector() -> None:
    """Call first thing in a process that builds the stack and then calls ``settle_heap``
    (``careflow up``): no collection runs while the imports and the build allocate what is
    nearly all long-lived. Each collection would rescan it (about a tenth of the start-up);
    ``settle_heap`` collects once and turns the collector back on."""
    gc.disable()


def settle_heap() -> None:
    """Call once the stack is built: collect, freeze the survivors, raise the thresholds (and
    turn the collector on, had ``hold_collector`` turned it off)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    gc.enable()
