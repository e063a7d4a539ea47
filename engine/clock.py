"""The small clock protocol the engine depends on. The stack hands it the shared
``careflow.clock.VirtualClock``; an engine started alone makes its own."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
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
