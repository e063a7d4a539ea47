"""The time part under both the fakes and the engine: the stack's one virtual clock, ISO-8601
helpers, and the one ``/__sandbox/clock`` route every service serves.

The clock follows real time by default. It can be frozen, set to an instant, or advanced; every
timestamp any fake or the engine writes comes from ``now()``. Listeners are told whenever the
clock is moved by hand (set/advance/freeze), so that whatever became due (webhook retries,
delayed runs, polls) can run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field, field_validator

Listener = Callable[[datetime], None]

# A century: far enough for any test, near enough that a datetime never overflows.
MAX_ADVANCE = 100 * 366 * 86400


def parse_instant(value: str) -> datetime:
    """Parse an ISO-8601 instant; a naive value is taken as UTC. Raises ValueError."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def format_instant(moment: datetime) -> str:
    """``2026-01-01T12:00:00Z`` (microseconds kept only when present)."""
    text = moment.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


class VirtualClock:
    """A clock that follows real time with an offset, or stands still when frozen."""

    def __init__(self, start: datetime | str | None = None, *, frozen: bool = False) -> None:
        self._lock = threading.RLock()
        self._offset = timedelta(0)
        self._frozen_at: datetime | None = None
        self._listeners: list[Listener] = []
        if frozen:
            self.freeze(notify=False)
        if start is not None:
            self.set(start, notify=False)

    # reading -------------------------------------------------------------------------------
    def now(self) -> datetime:
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return datetime.now(UTC) + self._offset

    def timestamp(self) -> float:
        return self.now().timestamp()

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def snapshot(self) -> dict[str, object]:
        return {"now": format_instant(self.now()), "frozen": self.frozen}

    # moving --------------------------------------------------------------------------------
    def set(self, moment: datetime | str, *, notify: bool = True) -> datetime:
        target = parse_instant(moment) if isinstance(moment, str) else moment.astimezone(UTC)
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at = target
            else:
                self._offset = target - datetime.now(UTC)
        if notify:
            self._notify()
        return target

    def advance(self, seconds: float, *, notify: bool = True) -> datetime:
        if seconds < 0:
            raise ValueError("the clock only moves forward: advance_seconds must be >= 0")
        with self._lock:
            try:
                step = timedelta(seconds=seconds)
                if self._frozen_at is not None:
                    self._frozen_at += step
                else:
                    self._offset + step + datetime.now(UTC)  # would the clock still read?
                    self._offset += step
            except OverflowError:
                raise ValueError(
                    f"advancing {seconds} s would take the clock past year 9999"
                ) from None
            moment = self.now()
        if notify:
            self._notify()
        return moment

    def freeze(self, frozen: bool = True, *, notify: bool = True) -> None:
        with self._lock:
            if frozen and self._frozen_at is None:
                self._frozen_at = datetime.now(UTC) + self._offset
            elif not frozen and self._frozen_at is not None:
                self._offset = self._frozen_at - datetime.now(UTC)
                self._frozen_at = None
        if notify:
            self._notify()

    def reset(self) -> None:
        """Back to real time, not frozen."""
        with self._lock:
            self._offset = timedelta(0)
            self._frozen_at = None
        self._notify()

    # listening -----------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(now)`` whenever the clock is moved by hand. Returns an unsubscribe."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def _notify(self) -> None:
        moment = self.now()
        for listener in list(self._listeners):
            listener(moment)

    def sleep_seconds_until(self, moment: datetime) -> float:
        """Real seconds to wait for ``moment`` (inf while frozen and not yet there)."""
        delta = (moment - self.now()).total_seconds()
        if delta <= 0:
            return 0.0
        return float("inf") if self.frozen else delta


def monotonic() -> float:
    """Real monotonic time, for measuring durations only (never for timestamps)."""
    return time.monotonic()


def next_order() -> int:
    """Orders events the virtual clock cannot tell apart (a frozen clock gives one instant to a
    whole request → webhook → run → dispatch chain). The process's monotonic nanoseconds, so the
    engine, which does not import the kernel, stamps its runs on the same scale."""
    return time.monotonic_ns()


# the one clock route ----------------------------------------------------------------------------


class ClockUpdate(BaseModel):
    """Move the shared clock: advance, set, freeze/unfreeze, or reset to real time."""

    model_config = ConfigDict(extra="forbid")

    advance_seconds: float | None = Field(
        None, ge=0, le=MAX_ADVANCE, allow_inf_nan=False, description="Move forward by n seconds"
    )
    set: str | None = Field(None, description="ISO-8601 instant, e.g. 2026-01-01T12:00:00Z")
    frozen: bool | None = None
    reset: bool | None = Field(None, description="Back to real time, not frozen")

    @field_validator("set")
    @classmethod
    def _iso(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_instant(value)
            except ValueError as exc:
                raise ValueError(
                    f"'{value}' is not an ISO-8601 instant (try 2026-01-01T12:00:00Z)"
                ) from exc
        return value


class ClockState(BaseModel):
    now: str
    frozen: bool


def apply_update(clock: VirtualClock, update: ClockUpdate) -> dict[str, object]:
    """Apply ``update`` to ``clock`` — all of it, or (422) nothing when it would overflow."""
    start = parse_instant(update.set) if update.set is not None else clock.now()
    try:  # refuse before anything moves: bad input changes nothing
        start + timedelta(seconds=update.advance_seconds or 0)
    except OverflowError:
        raise HTTPException(
            422, f"advancing {update.advance_seconds} s would pass year 9999"
        ) from None
    if update.reset:
        clock.reset()
    if update.frozen is not None:
        clock.freeze(update.frozen)
    if update.set is not None:
        clock.set(update.set)
    if update.advance_seconds:
        clock.advance(update.advance_seconds)
    return clock.snapshot()


def clock_router(clock: Any, settle: Callable[[], Awaitable[Any]]) -> APIRouter:
    """``GET``/``POST /clock`` on ``clock``; ``settle`` runs whatever the move made due before
    the answer. Mounted under ``/__sandbox`` by every fake and the engine."""
    router = APIRouter()

    @router.get("/clock", response_model=ClockState)
    async def get_clock() -> dict[str, Any]:
        return clock.snapshot()  # type: ignore[no-any-return]

    @router.post("/clock", response_model=ClockState)
    async def move_clock(update: ClockUpdate) -> dict[str, Any]:
        apply_update(clock, update)
        await settle()
        return clock.snapshot()  # type: ignore[no-any-return]

    return router
