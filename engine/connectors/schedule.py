"""Schedule trigger: a cron expression in a time zone, on the engine's (virtual) clock.
croniter loads with the first cron expression checked (``careflow up`` starts without it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from .base import Params, Trigger, trigger


class CronParams(Params):
    cron: str = Field(..., description="Five-field cron, e.g. '0 8 * * *' (daily at 08:00)")
    timezone: str = "UTC"

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        from croniter import croniter

        if not croniter.is_valid(value):
            raise ValueError(f"{value!r} is not a valid cron expression")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


@trigger
class Cron(Trigger):
    app = "schedule"
    event = "cron"
    kind = "schedule"
    Params = CronParams

    def next_fire(self, params: Any, after: datetime) -> datetime | None:
        from croniter import croniter

        zone = ZoneInfo(params.timezone)
        local = after.astimezone(zone)
        return croniter(params.cron, local).get_next(datetime).astimezone(UTC)

    async def sample(self, ctx: Any, params: Any) -> list[dict[str, Any]]:
        fire = self.next_fire(params, ctx.clock.now())
        return [{"scheduled_for": fire.isoformat().replace("+00:00", "Z") if fire else None}]
