"""A bounded journal of every vendor request a fake received (secrets and PHI masked).

The journal is a ring buffer: it keeps the last ``capacity`` requests
(``Kernel(journal_capacity=)``, default 5,000, or the ``CAREFLOW_JOURNAL_CAPACITY`` environment
variable) and counts what it dropped, overall and per tenant. Recording is cheap: a
``JournalRecord`` keeps the request as it arrived (raw headers, raw body) and the answer;
masking and decoding happen when an entry is read, once (the masked view is cached). An answer
over 16 KiB (up to 1 MiB) is kept zlib-compressed (level 1: ~50 µs for a 27 KB page of leads,
kept in ~4 KB) and shown as the first 16 KiB of its masked text: masking it on the request path
cost a WhatConverts list two thirds of its time (issue 18).
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import zlib
from collections import Counter, deque
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from careflow.clock import format_instant

from .masking import Masker, default_masker
from .matching import RequestView

DEFAULT_CAPACITY = 5000
CAPACITY_ENV = "CAREFLOW_JOURNAL_CAPACITY"
RESPONSE_BODY_LIMIT = 16 * 1024  # what an entry keeps of an answer (DESIGN.md: cut at 16 KiB)
RESPONSE_COLLECT_LIMIT = 1024 * 1024  # larger answers are summarised, not masked and cut


def default_capacity() -> int:
    """``CAREFLOW_JOURNAL_CAPACITY`` when set (a positive integer), else 5,000."""
    raw = os.environ.get(CAPACITY_ENV, "").strip()
    if not raw:
        return DEFAULT_CAPACITY
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{CAPACITY_ENV} must be a positive integer, not {raw!r}") from None
    if value < 1:
        raise ValueError(f"{CAPACITY_ENV} must be a positive integer, not {raw!r}")
    return value


# Answers journaled by size only (a call recording's MP3, say): their bytes are not text.
BINARY_TYPES = ("audio/", "video/", "image/", "application/octet-stream")


def _is_json(content_type: str, raw: bytes) -> bool:
    return "json" in content_type or raw.lstrip()[:1] in (b"{", b"[")


def _cut(text: str, total: int) -> str:
    return text[:RESPONSE_BODY_LIMIT] + f"… [cut: {total} bytes in all]"


def response_view(raw: bytes, content_type: str, total: int, masker: Masker) -> Any:
    """An answer's body as an entry shows it: JSON masked, text as is, cut at 16 KiB."""
    if total == 0:
        return None
    if content_type.split(";")[0].strip().startswith(BINARY_TYPES):
        return f"<{content_type.split(';')[0].strip()} body, {total} bytes>"
    if total > RESPONSE_COLLECT_LIMIT:
        kind = "JSON" if _is_json(content_type, raw) else "text"
        return f"<{kind} body, {total} bytes: too large to journal>"
    if _is_json(content_type, raw):
        try:
            masked = masker.value(json.loads(raw))
        except ValueError:
            pass
        except RecursionError:
            return f"<JSON body nested too deeply, {total} bytes>"
        else:
            if total <= RESPONSE_BODY_LIMIT:
                return masked
            text = json.dumps(masked, ensure_ascii=False)
            return masked if len(text) <= RESPONSE_BODY_LIMIT else _cut(text, total)
    text = raw.decode("utf-8", errors="replace")
    return text if total <= RESPONSE_BODY_LIMIT else _cut(text, total)


class Packed:
    """An answer over 16 KiB as recorded: compressed, masked and cut when read."""

    __slots__ = ("data",)

    def __init__(self, raw: bytes) -> None:
        self.data = zlib.compress(raw, 1)


def recorded_answer(raw: bytes, content_type: str, total: int) -> Any:
    """What an entry keeps of an answer: the bytes (up to 16 KiB), a ``Packed`` copy (up to
    1 MiB of JSON or text) or, for what is never shown whole, its summary."""
    if total <= RESPONSE_BODY_LIMIT:
        return raw
    if total > RESPONSE_COLLECT_LIMIT or content_type.split(";")[0].strip().startswith(
        BINARY_TYPES
    ):
        return response_view(raw, content_type, total, default_masker)  # a summary: no masking
    return Packed(raw)


class JournalRecord:
    """One request as received, and its answer; ``view()`` is the masked entry."""

    __slots__ = (
        "_time",
        "_view",
        "correlation_id",
        "elapsed_ms",
        "fault",
        "id",
        "matched",
        "order",
        "request",
        "response",
        "response_total",
        "response_type",
        "route",
        "status",
        "tenant",
    )

    def __init__(
        self,
        *,
        request: RequestView,
        time: str | datetime,
        order: int,
        status: int | None,
        correlation_id: str,
        fault: dict[str, Any] | None = None,
        tenant: str | None = None,
        route: str | None = None,
        matched: bool = True,
        response: Any = b"",
        response_type: str = "",
        response_total: int = 0,
        elapsed_ms: float = 0.0,
    ) -> None:
        self.id = 0
        self.request = request
        self._time = time  # an instant is formatted when read (``time``)
        self.order = order
        self.status = status
        self.correlation_id = correlation_id
        self.fault = fault
        self.tenant = tenant
        self.route = route
        self.matched = matched
        # bytes (up to 16 KiB) or Packed (up to 1 MiB), masked when read, or a summary
        self.response = response
        self.response_type = response_type
        self.response_total = response_total
        self.elapsed_ms = elapsed_ms
        self._view: dict[str, Any] | None = None

    @property
    def time(self) -> str:
        """When the request arrived, ``2026-01-01T12:00:00Z`` (the stack's clock)."""
        if isinstance(self._time, datetime):
            self._time = format_instant(self._time)
        return self._time

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def path(self) -> str:
        return self.request.path

    def response_body(self, masker: Masker) -> Any:
        response = self.response
        if isinstance(response, Packed):
            response = zlib.decompress(response.data)
        elif not isinstance(response, bytes):
            return response
        return response_view(response, self.response_type, self.response_total, masker)

    def view(self, masker: Masker) -> dict[str, Any]:
        """The entry as the admin API shows it (DESIGN.md "Journal entry"), masked."""
        if self._view is None:
            request = self.request
            headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers]
            content_type = request.headers.get("content-type", "")
            self._view = {
                "id": self.id,
                "time": self.time,
                "order": self.order,
                "method": request.method,
                "path": request.path,
                "query": masker.query(request.query_string),
                "status": self.status,
                "correlation_id": self.correlation_id,
                "request_headers": masker.headers(headers),
                "request_body": (
                    f"<body of {request.omitted} bytes: too large to journal>"
                    if request.omitted
                    else masker.body(request.body, content_type)
                ),
                "response_body": self.response_body(masker),
                "elapsed_ms": self.elapsed_ms,
                "fault": self.fault,
                "tenant": self.tenant,
                "route": self.route,
                "matched": self.matched,
            }
        return dict(self._view)


class Journal:
    """Ring buffer of request records; oldest first when listed."""

    def __init__(self, capacity: int | None = None, masker: Masker | None = None) -> None:
        self.capacity = capacity if capacity is not None else default_capacity()
        if self.capacity < 1:
            raise ValueError(f"journal capacity must be at least 1, not {self.capacity}")
        self.masker = masker or default_masker
        self._records: deque[JournalRecord] = deque(maxlen=self.capacity)
        self._ids = itertools.count(1)
        self._dropped: Counter[str | None] = Counter()
        self._lock = threading.Lock()
        self._last_packed: tuple[bytes, str, Packed] | None = None

    def answer(self, raw: bytes, content_type: str, total: int) -> Any:
        """``recorded_answer``, with the last answer packed shared by the next identical one: a
        client polling the same page gets the same bytes each time, and comparing them costs a
        hundredth of compressing them again (~1 µs against ~90 µs for 20 KB, issue 18)."""
        last = self._last_packed
        if last is not None and last[1] == content_type and total == len(raw) and last[0] == raw:
            return last[2]
        recorded = recorded_answer(raw, content_type, total)
        if isinstance(recorded, Packed):
            self._last_packed = (raw, content_type, recorded)
        return recorded

    def record(self, record: JournalRecord) -> JournalRecord:
        with self._lock:
            record.id = next(self._ids)
            if len(self._records) == self.capacity:
                self._dropped[self._records[0].tenant] += 1
            self._records.append(record)
        return record

    def clear(self, tenant: str | None = None) -> None:
        """Forget every entry, or only those of one tenant (and what was dropped of it)."""
        with self._lock:
            self._last_packed = None  # an answer forgotten is not kept here either
            if tenant is None:
                self._records.clear()
                self._ids = itertools.count(1)
                self._dropped.clear()
            else:
                kept = [r for r in self._records if r.tenant != tenant]
                self._records.clear()
                self._records.extend(kept)
                self._dropped.pop(tenant, None)

    def dropped(self, tenant: str | None = None) -> int:
        """How many entries the ring buffer let go (of one tenant, or in all)."""
        with self._lock:
            return self._dropped[tenant] if tenant is not None else sum(self._dropped.values())

    def records(
        self,
        *,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        correlation_id: str | None = None,
        tenant: str | None = None,
    ) -> list[JournalRecord]:
        """The raw records (unmasked: for matching, never for showing), oldest first."""
        with self._lock:
            records: Iterable[JournalRecord] = list(self._records)
        wanted = method.upper() if method is not None else None
        return [
            r
            for r in records
            if (wanted is None or r.request.method == wanted)
            and (path is None or r.request.path.startswith(path))
            and (status is None or r.status == status)
            and (correlation_id is None or r.correlation_id == correlation_id)
            and (tenant is None or r.tenant == tenant)
        ]

    def items(self, **filters: Any) -> list[dict[str, Any]]:
        """The masked entries (filters as ``records``), oldest first."""
        return [r.view(self.masker) for r in self.records(**filters)]

    def __len__(self) -> int:
        return len(self._records)
