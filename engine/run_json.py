"""The runs listing's JSON, rendered once per version of a run's row.

``GET /api/runs`` answers up to 1,000 runs a page, and most of a run's bytes come from its
``data`` document. Parsing every row's ``data`` and dumping the page again on every request
cost most of the route's time (a profile under wrk: 64% in json), while most rows do not
change between two requests (finished runs never do). So each run's list item is kept as JSON
text next to the row it was rendered from, and is rendered again only when that row differs;
comparing the stored text is a memcmp, far cheaper than a parse and a dump. A page is then the
items joined into ``{"items":[...],"next_cursor":...}``.

The bytes are exactly what ``JSONResponse(page)`` would send for the ``run_dict`` page (same
keys, order and values; see ``dumps``), and the cache is only a cache: it is keyed by the
whole row, so any write (by this process or any other code path) is seen on the next read, and
nothing here is stored or needs to survive a crash.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

# The kept items' memory budget: a kept run holds its row (mostly ``data``) and its item, about
# 4 KB for a 5-step run, so the newest ~15,000 such runs (the default cap keeps 10,000), and
# fewer when runs carry big outputs. Past it the items kept longest go first (first in, first
# out); an evicted run is simply rendered again when asked for.
KEEP_BYTES = 64 * 2**20
_ENTRY_OVERHEAD = 256  # the entry's tuple, dict slot and the row's small columns, roughly


def dumps(value: Any) -> str:
    """JSON as starlette's ``JSONResponse.render`` writes it (before its utf-8 encode)."""
    return json.dumps(
        value, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    )


class RenderedRuns:
    """Each run's list item as JSON text, rebuilt only when its row changed."""

    def __init__(
        self, render: Callable[[Any], dict[str, Any]], keep_bytes: int = KEEP_BYTES
    ) -> None:
        self._render = render  # a row -> the run's dict (runs.run_dict)
        self._keep_bytes = keep_bytes
        self._bytes = 0
        # run id -> (the row it was rendered from, its JSON, the bytes counted for it)
        self._items: dict[str, tuple[tuple[Any, ...], str, int]] = {}

    def item(self, row: Any) -> str:
        run_id, version = row["id"], tuple(row)
        cached = self._items.get(run_id)
        if cached is not None and cached[0] == version:
            return cached[1]
        text = dumps(self._render(row))
        self._forget(run_id)  # then kept last: a changing run is a recent one
        size = len(text) + len(row["data"]) + _ENTRY_OVERHEAD
        self._items[run_id] = (version, text, size)
        self._bytes += size
        while self._bytes > self._keep_bytes and self._items:
            self._forget(next(iter(self._items)))
        return text

    def _forget(self, run_id: str) -> None:
        gone = self._items.pop(run_id, None)  # None too if another thread forgot it first
        if gone is not None:
            self._bytes -= gone[2]

    def page(self, rows: Sequence[Any], next_cursor: str | None) -> bytes:
        """``{"items": [...], "next_cursor": ...}`` for these rows, as JSONResponse bytes."""
        items = ",".join([self.item(row) for row in rows])
        return f'{{"items":[{items}],"next_cursor":{dumps(next_cursor)}}}'.encode()

    def __len__(self) -> int:
        return len(self._items)
