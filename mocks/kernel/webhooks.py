"""Outbound webhook sender: delivery log, retries with backoff on the virtual clock, redelivery.

A delivery is attempted as soon as it is enqueued (in a task on the running event loop); a failed
attempt (transport error or non-2xx) is retried after the next backoff interval of the *virtual*
clock: advancing the clock past it releases the retry at once, so tests never sleep. Targets that
are not loopback are refused unless the sender was built with ``allow_remote=True``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx

from careflow.clock import VirtualClock, format_instant, monotonic, next_order

from .guard import is_loopback_url
from .masking import Masker, default_masker

DEFAULT_BACKOFF: tuple[float, ...] = (10, 30, 60, 300, 900)
# The delivery log keeps the newest deliveries, this many (``CAREFLOW_MAX_DELIVERIES``); one still
# pending or retrying is never dropped. Older finished ones are forgotten, oldest first.
MAX_DELIVERIES = 5000
DELIVERIES_ENV = "CAREFLOW_MAX_DELIVERIES"
UNFINISHED = ("pending", "retrying")


def max_deliveries() -> int:
    raw = os.environ.get(DELIVERIES_ENV, "").strip()
    if not raw:
        return MAX_DELIVERIES
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{DELIVERIES_ENV} must be a whole number of at least 1, not {raw!r}")
    return int(raw)


class Delivery:
    def __init__(
        self,
        delivery_id: int,
        *,
        url: str,
        payload: Any,
        headers: dict[str, str],
        event: str,
        tenant: str,
        correlation_id: str | None,
        created_at: datetime,
        max_attempts: int,
        meta: dict[str, Any],
    ) -> None:
        self.id = delivery_id
        self.url = url
        self.payload = payload
        self.headers = headers
        self.event = event
        self.tenant = tenant
        self.correlation_id = correlation_id
        self.created_at = created_at
        self.max_attempts = max_attempts
        self.meta = meta
        self.status = "pending"  # pending | delivered | retrying | failed | refused
        self.attempts: list[dict[str, Any]] = []
        self.next_attempt_at: datetime | None = created_at
        self.order = next_order()

    def as_dict(self, masker: Masker) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "event": self.event,
            "tenant": self.tenant,
            "status": self.status,
            "attempts": len(self.attempts),
            "attempt_log": list(self.attempts),
            "created_at": format_instant(self.created_at),
            "order": self.order,
            "next_attempt_at": format_instant(self.next_attempt_at)
            if self.next_attempt_at
            else None,
            "correlation_id": self.correlation_id,
            "payload": masker.value(self.payload),
            **self.meta,
        }


class WebhookSender:
    def __init__(
        self,
        clock: VirtualClock,
        *,
        client: httpx.AsyncClient | None = None,
        allow_remote: bool = False,
        backoff: Sequence[float] = DEFAULT_BACKOFF,
        max_attempts: int | None = None,
        timeout: float = 10.0,
        masker: Masker = default_masker,
        user_agent: str = "careflow-sandbox-webhooks/1.0",
        capacity: int | None = None,
    ) -> None:
        self.clock = clock
        self.client = client
        self.allow_remote = allow_remote
        self.backoff = tuple(backoff)
        self.max_attempts = max_attempts if max_attempts is not None else len(self.backoff) + 1
        self.timeout = timeout
        self.masker = masker
        self.user_agent = user_agent
        self._deliveries: dict[int, Delivery] = {}
        self.capacity = capacity if capacity is not None else max_deliveries()
        self.dropped = 0  # finished deliveries forgotten to keep the log within capacity
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        clock.subscribe(self._on_clock_moved)

    # public --------------------------------------------------------------------------------
    def enqueue(
        self,
        url: str,
        payload: Any,
        *,
        event: str = "",
        tenant: str = "default",
        headers: dict[str, str] | None = None,
        correlation_id: str | None = None,
        max_attempts: int | None = None,
        meta: dict[str, Any] | None = None,
        send_now: bool = True,
        not_before: datetime | None = None,
    ) -> Delivery:
        """Log a delivery and attempt it now, or at ``not_before`` on the virtual clock (a
        vendor's pacing, e.g. a per-second call limit)."""
        with self._lock:
            delivery = Delivery(
                next(self._ids),
                url=url,
                payload=payload,
                headers=dict(headers or {}),
                event=event,
                tenant=tenant,
                correlation_id=correlation_id,
                created_at=self.clock.now(),
                max_attempts=max_attempts or self.max_attempts,
                meta=dict(meta or {}),
            )
            self._deliveries[delivery.id] = delivery
            if len(self._deliveries) > self.capacity:
                self._forget_oldest()
        if not_before is not None and not_before > delivery.created_at:
            delivery.next_attempt_at = not_before
            self._wake_after((not_before - delivery.created_at).total_seconds())
        elif send_now:
            self._spawn(self._attempt(delivery))
        return delivery

    def _forget_oldest(self) -> None:
        """Drop the oldest finished deliveries until the log fits (a tenth of the capacity at
        once, so that the scan is paid rarely)."""
        excess = len(self._deliveries) - self.capacity + max(1, self.capacity // 10)
        old = [
            k
            for k, d in itertools.islice(self._deliveries.items(), excess * 2 + 64)
            if d.status not in UNFINISHED
        ][:excess]
        for key in old:
            del self._deliveries[key]
        self.dropped += len(old)

    def get(self, delivery_id: int) -> Delivery | None:
        return self._deliveries.get(delivery_id)

    def items(self, tenant: str | None = None) -> list[Delivery]:
        return [d for d in self._deliveries.values() if tenant is None or d.tenant == tenant]

    def clear(self, tenant: str | None = None) -> None:
        with self._lock:
            if tenant is None:
                self._deliveries.clear()
                self._ids = itertools.count(1)
            else:
                for key in [k for k, d in self._deliveries.items() if d.tenant == tenant]:
                    del self._deliveries[key]

    async def redeliver(self, delivery_id: int) -> Delivery:
        """Send a logged delivery again now, whatever its status; the attempt is logged."""
        delivery = self._deliveries[delivery_id]
        delivery.status = "pending"
        delivery.max_attempts = max(delivery.max_attempts, len(delivery.attempts) + 1)
        await self._attempt(delivery)
        return delivery

    async def deliver_due(self) -> int:
        """Attempt every delivery whose next attempt is due on the virtual clock."""
        now = self.clock.now()
        due = [
            d
            for d in list(self._deliveries.values())
            if d.status in ("pending", "retrying")
            and d.next_attempt_at is not None
            and d.next_attempt_at <= now
        ]
        for delivery in due:
            await self._attempt(delivery)
        return len(due)

    async def drain(self) -> None:
        """Wait for every attempt in flight (and those they schedule) to finish."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # internals -----------------------------------------------------------------------------
    def _spawn(self, coro: Any) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None:
            coro.close()  # no loop (sync caller): the next deliver_due() or clock move sends it
            return
        self._loop = loop
        task = loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _wake_after(self, seconds: float) -> None:
        """On a running clock, send what is due after ``seconds``; a frozen clock sends it
        when moved past (``_on_clock_moved``)."""
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        loop = running or self._loop
        if loop is None or loop.is_closed():
            return
        self._loop = loop  # the loop a clock move kicks
        if self.clock.frozen:
            return

        def arm() -> None:
            loop.call_later(seconds, lambda: self._spawn(self.deliver_due()))

        if running is loop:
            arm()
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(arm)

    def _on_clock_moved(self, _now: datetime) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return

        def kick() -> None:
            self._spawn(self.deliver_due())

        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            kick()
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(kick)

    async def _attempt(self, delivery: Delivery) -> None:
        if delivery.status in ("delivered", "failed", "refused"):
            return
        started = monotonic()
        record: dict[str, Any] = {"time": format_instant(self.clock.now()), "status_code": None}
        if not self.allow_remote and not is_loopback_url(delivery.url):
            delivery.status = "refused"
            delivery.next_attempt_at = None
            record["error"] = (
                "refused: target is not a loopback address; the sandbox sends webhooks only to "
                "127.0.0.1/localhost unless started with --allow-remote"
            )
            delivery.attempts.append(record)
            return
        headers = {
            "Content-Type": "application/json",
            "User-Agent": self.user_agent,
            **delivery.headers,
        }
        if delivery.correlation_id:
            headers.setdefault("X-Request-ID", delivery.correlation_id)
        body = (
            delivery.payload
            if isinstance(delivery.payload, bytes)
            else json.dumps(delivery.payload, default=str).encode()
        )
        delivery.next_attempt_at = None
        try:
            client = self.client or httpx.AsyncClient(timeout=self.timeout)
            try:
                response = await client.post(delivery.url, content=body, headers=headers)
            finally:
                if client is not self.client:
                    await client.aclose()
            record["status_code"] = response.status_code
            ok = 200 <= response.status_code < 300
            if not ok:
                record["error"] = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            ok = False
            record["error"] = f"{type(exc).__name__}: {exc}"
        record["duration_ms"] = round((monotonic() - started) * 1000, 3)
        delivery.attempts.append(record)
        if ok:
            delivery.status = "delivered"
            return
        if len(delivery.attempts) >= delivery.max_attempts:
            delivery.status = "failed"
            return
        delivery.status = "retrying"
        wait = self.backoff[min(len(delivery.attempts) - 1, len(self.backoff) - 1)]
        delivery.next_attempt_at = self.clock.now() + timedelta(seconds=wait)
        self._wake_after(wait)
