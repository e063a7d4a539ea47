"""The engine's FastAPI app (placeholder: health, stack info and the shared clock)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .clock import Clock, SystemClock


class ClockUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    advance_seconds: float | None = Field(None, ge=0)
    set: str | None = None
    frozen: bool | None = None
    reset: bool | None = None

    @field_validator("set")
    @classmethod
    def _iso(cls, value: str | None) -> str | None:
        from datetime import datetime

        if value is not None:
            try:
                datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError as exc:
                raise ValueError(f"'{value}' is not an ISO-8601 instant") from exc
        return value


def create_app(*, clock: Clock | None = None, stack_info: dict[str, Any] | None = None) -> FastAPI:
    clock = clock or SystemClock()
    app = FastAPI(title="careflow engine", openapi_url="/api/openapi.json", docs_url="/api/docs")
    app.state.clock = clock
    app.state.stack_info = stack_info

    @app.get("/__sandbox/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "service": "engine"}

    @app.get("/__sandbox/stack")
    async def stack() -> dict[str, Any]:
        if app.state.stack_info is None:
            raise HTTPException(404, "this engine was not started as part of a careflow stack")
        return app.state.stack_info

    @app.get("/__sandbox/clock")
    async def get_clock() -> dict[str, Any]:
        return clock.snapshot()

    @app.post("/__sandbox/clock")
    async def move_clock(update: ClockUpdate) -> dict[str, Any]:
        if update.reset:
            clock.reset()
        if update.frozen is not None:
            clock.freeze(update.frozen)
        if update.set is not None:
            clock.set(update.set)
        if update.advance_seconds:
            clock.advance(update.advance_seconds)
        return clock.snapshot()

    return app
