"""HTTP Client: a custom API request (GET, POST, PUT, PATCH, DELETE) from a workflow step."""

from __future__ import annotations

import ipaddress
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field

from .base import Action, Context, Params, StepError, action, credentials
from .vendor_http import check, send

# optional: a bearer token, a username/password or headers for the target
credentials("http")


def is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").strip("[]").lower()
    if host in ("localhost",) or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RequestParams(Params):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    url: str = Field(..., min_length=1)
    headers: dict[str, str] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)
    json_body: Any = Field(None, alias="json")
    body: str | None = None

    model_config = Params.model_config | {"populate_by_name": True}


@action
class Request(Action):
    app, name, Params = "http", "request", RequestParams

    async def run(self, ctx: Context, params: Any) -> Any:
        if not ctx.allow_remote and not is_loopback(params.url):
            raise StepError(
                f"refused to call {urlsplit(params.url).hostname!r}: the sandbox engine only "
                "calls loopback hosts unless started with --allow-remote",
                retryable=False,
            )
        headers = {**ctx.headers(), **params.headers}
        c = ctx.credentials
        auth = None
        if c.get("token"):
            headers.setdefault("Authorization", f"Bearer {c['token']}")
        elif c.get("username"):
            auth = (c["username"], c.get("password", ""))
        for name, value in (c.get("headers") or {}).items():
            headers.setdefault(name, value)
        kwargs: dict[str, Any] = {"headers": headers, "params": params.params or None}
        if auth:
            kwargs["auth"] = auth
        if params.json_body is not None:
            kwargs["json"] = params.json_body
        elif params.body is not None:
            kwargs["content"] = params.body
        response = await send(ctx.http, "HTTP target", params.method, params.url, **kwargs)
        body = check(response, "HTTP target", ok=tuple(range(200, 300)))
        return {"status": response.status_code, "headers": dict(response.headers), "body": body}
