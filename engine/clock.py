"""The small clock protocol the engine depends on (the stack hands it the shared clock)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    def now(self) -> datetime: ...

    @property
    def frozen(self) -> bool: ...

    def subscribe(self, listener: Callable[[datetime], None]) -> Callable[[], None]: ...

    def set(self, moment: datetime | str) -> datetime: ...

    def advance(self, seconds: float) -> datetime: ...

    def freeze(self, frozen: bool = True) -> None: ...

    def reset(self) -> None: ...

    def snapshot(self) -> dict[str, object]: ...


class SystemClock:
    """Real time, offset/freezable: what the engine uses when nobody hands it a clock."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._frozen_at: datetime | None = None
        self._listeners: list[Callable[[datetime], None]] = []

    def now(self) -> datetime:
        return self._frozen_at or datetime.now(UTC) + self._offset

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def subscribe(self, listener: Callable[[datetime], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _moved(self) -> None:
        for listener in list(self._listeners):
            listener(self.now())

    def set(self, moment: datetime | str) -> datetime:
        target = (
            datetime.fromisoformat(moment.replace("Z", "+00:00"))
            if isinstance(moment, str)
            else moment
        )
        if target.tzinfo is None:
            target = target.replace(tzinfo=UTC)
        if self._frozen_at is not None:
            self._frozen_at = target
        else:
            self._offset = target - datetime.now(UTC)
        self._moved()
        return target

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        if self._frozen_at is not None:
            self._frozen_at += timedelta(seconds=seconds)
        else:
            self._offset += timedelta(seconds=seconds)
        self._moved()
        return self.now()

    def freeze(self, frozen: bool = True) -> None:
        if frozen and self._frozen_at is None:
            self._frozen_at = self.now()
        elif not frozen and self._frozen_at is not None:
            self._offset = self._frozen_at - datetime.now(UTC)
            self._frozen_at = None
        self._moved()

    def reset(self) -> None:
        self._offset, self._frozen_at = timedelta(0), None
        self._moved()

    def snapshot(self) -> dict[str, object]:
        return {"now": self.now().isoformat().replace("+00:00", "Z"), "frozen": self.frozen}
