"""A bounded journal of every vendor request a fake received (secrets and PHI masked)."""

from __future__ import annotations

import itertools
import threading
from collections import deque
from typing import Any


class Journal:
    """Ring buffer of request entries; oldest first when listed."""

    def __init__(self, capacity: int = 5000) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=capacity)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            entry = {"id": next(self._ids), **entry}
            self._entries.append(entry)
        return entry

    def clear(self, tenant: str | None = None) -> None:
        """Forget every entry, or only those of one tenant."""
        with self._lock:
            if tenant is None:
                self._entries.clear()
                self._ids = itertools.count(1)
            else:
                kept = [e for e in self._entries if e.get("tenant") != tenant]
                self._entries.clear()
                self._entries.extend(kept)

    def items(
        self,
        *,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        correlation_id: str | None = None,
        tenant: str | None = None,
    ) -> list[dict[str, Any]]:
        with self._lock:
            entries = list(self._entries)
        return [
            e
            for e in entries
            if (method is None or e["method"] == method.upper())
            and (path is None or e["path"].startswith(path))
            and (status is None or e["status"] == status)
            and (correlation_id is None or e["correlation_id"] == correlation_id)
            and (tenant is None or e.get("tenant") == tenant)
        ]

    def __len__(self) -> int:
        return len(self._entries)
