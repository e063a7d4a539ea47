"""Ours Privacy, as its Keragon page describes it: Track event (``/api/v1/track``) and Identify
visitor (``/api/v1/identify``) through the Ingest API, token in the body. A workflow may hold a
test-mode key and a live key; every step says which one it used (``notes.key``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from .base import Action, Context, Params, StepError, action, credentials
from .vendor_http import check, send

# DESIGN.md: the info file's keys; a test-mode-only authentication holds just test_token
credentials("ours", "url", ("token", "test_token"))

VENDOR = "Ours Privacy"


class VisitorParams(Params):
    # [C] ours-privacy.md §3: at least one of userId / externalId / email
    email: str | None = None
    externalId: str | None = Field(None, alias="external_id")
    userId: str | None = Field(None, alias="user_id")
    key: Literal["live", "test"] | None = Field(
        None, description="Which key of the authentication (default: its live key)"
    )

    model_config = Params.model_config | {"populate_by_name": True}

    @model_validator(mode="after")
    def _identified(self) -> VisitorParams:
        if not (self.email or self.externalId or self.userId):
            raise ValueError("give at least one identifier: email, externalId or userId")
        return self

    def identifiers(self) -> dict[str, str]:
        ids = {"userId": self.userId, "externalId": self.externalId, "email": self.email}
        return {k: v for k, v in ids.items() if v}


class TrackParams(VisitorParams):
    event: str = Field(..., min_length=1)
    properties: dict[str, Any] = Field(default_factory=dict)
    user_properties: dict[str, Any] | None = None
    distinct_id: str | None = None
    time: str | None = None


class IdentifyParams(VisitorParams):
    properties: dict[str, Any] = Field(default_factory=dict)


def _token(ctx: Context, key: str | None) -> tuple[str, str]:
    """(token, "live"|"test"). An authentication holds ``token`` and optionally ``test_token``;
    one created from a test-mode key says so with ``mode: test``."""
    c = ctx.credentials
    if key == "test":
        if c.get("test_token"):
            return c["test_token"], "test"
        if c.get("mode") == "test" and c.get("token"):
            return c["token"], "test"
        raise StepError("this Ours Privacy authentication has no test-mode key", retryable=False)
    if not c.get("token"):
        raise StepError("the Ours Privacy authentication needs a 'token'", retryable=False)
    return c["token"], "test" if c.get("mode") == "test" else "live"


async def _post(ctx: Context, path: str, body: dict[str, Any], key: str | None) -> Any:
    url = ctx.credentials.get("url")
    if not url:
        raise StepError("the Ours Privacy authentication needs the API 'url'", retryable=False)
    token, mode = _token(ctx, key)
    ctx.notes["key"] = mode
    response = await send(
        ctx.http,
        VENDOR,
        "POST",
        f"{url.rstrip('/')}/api/v1{path}",
        json={"token": token, **body},
        headers=ctx.headers(),
    )
    result = check(response, VENDOR, ok=(200,))
    return {"success": bool((result or {}).get("success")), "mode": mode}


@action
class Track(Action):
    app, name, Params = "ours", "track", TrackParams

    async def run(self, ctx: Context, params: Any) -> Any:
        body: dict[str, Any] = {
            "event": params.event,
            **params.identifiers(),
            "eventProperties": params.properties,
        }
        if params.user_properties is not None:
            body["userProperties"] = params.user_properties
        if params.distinct_id:
            body["distinctId"] = params.distinct_id
        if params.time:
            body["time"] = params.time
        return {**await _post(ctx, "/track", body, params.key), "event": params.event}


@action
class Identify(Action):
    app, name, Params = "ours", "identify", IdentifyParams

    async def run(self, ctx: Context, params: Any) -> Any:
        body = {**params.identifiers(), "userProperties": params.properties}
        return await _post(ctx, "/identify", body, params.key)
