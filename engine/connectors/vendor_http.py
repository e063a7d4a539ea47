"""How vendor connectors turn HTTP answers into step results or ``StepError``s."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from .base import StepError

RETRYABLE = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


def retry_after(response: httpx.Response) -> float | datetime | None:
    """``Retry-After`` (RFC 9110 §10.2.3): delay-seconds, or an HTTP date — returned as an aware
    datetime, which the engine turns into a wait against its (virtual) clock."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def body_of(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:2000]


def check(response: httpx.Response, vendor: str, ok: tuple[int, ...] = (200, 201, 204)) -> Any:
    """The JSON body of a successful answer; otherwise a StepError that says what the vendor said.

    429 and 5xx are retried (honouring ``Retry-After``); other 4xx fail the step at once."""
    if response.status_code in ok:
        return body_of(response) if response.content else None
    body = body_of(response)
    raise StepError(
        f"{vendor} answered {response.status_code} to {response.request.method} "
        f"{response.request.url.path}: {body}",
        retryable=response.status_code in RETRYABLE,
        retry_after=retry_after(response),
        status=response.status_code,
        body=body,
    )


async def send(client: httpx.AsyncClient, vendor: str, method: str, url: str, **kw: Any) -> Any:
    """One request; transport failures (timeouts, dropped connections) are retryable."""
    try:
        return await client.request(method, url, **kw)
    except httpx.TransportError as exc:
        message = f"{vendor} did not answer {method} {url}: {type(exc).__name__}: {exc}"
        raise StepError(message) from exc
