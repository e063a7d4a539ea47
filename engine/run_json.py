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

# Runs whose rendered item is kept: more than the largest page (PAGE_MAX in runs.py), so the
# newest page of any size stays rendered; older entries go first-in first-out.
KEEP = 2_048


def dumps(value: Any) -> str:
    """JSON as starlette's ``JSONResponse.render`` writes it (before its utf-8 encode)."""
    return json.dumps(
        value, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    )


class RenderedRuns:
    """Each run's list item as JSON text, rebuilt only when its row changed."""

    def __init__(self, render: Callable[[Any], dict[str, Any]], keep: int = KEEP) -> None:
        self._render = render  # a row -> the run's dict (runs.run_dict)
        self._keep = keep
        self._items: dict[str, tuple[tuple[Any, ...], str]] = {}  # run id -> (row, JSON)

    def item(self, row: Any) -> str:
        run_id, version = row["id"], tuple(row)
        cached = self._items.get(run_id)
        if cached is not None and cached[0] == version:
            return cached[1]
        text = dumps(self._render(row))
        self._items.pop(run_id, None)  # re-inserted last: a changing run is a recent one
        self._items[run_id] = (version, text)
        if len(self._items) > self._keep:
            del self._items[next(iter(self._items))]
        return text

    def page(self, rows: Sequence[Any], next_cursor: str | None) -> bytes:
        """``{"items": [...], "next_cursor": ...}`` for these rows, as JSONResponse bytes."""
        items = ",".join([self.item(row) for row in rows])
        return f'{{"items":[{items}],"next_cursor":{dumps(next_cursor)}}}'.encode()

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
