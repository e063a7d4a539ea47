"""Ingest API errors: the status codes and bodies the real API answers.

[C] ours-privacy.md §6: /track and /identify answer ``{"success": false}`` with 400, 401, 429 or
500. [C] §5: /batch request-level failures answer ``{"success": false, "error": "..."}`` with 400,
401, 413 (plus a numeric ``limit``) or 415. [?] whether /track errors carry a message: the fake
adds a readable ``"error"`` string everywhere (the SDKs ignore unknown keys).
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse


class IngestError(Exception):
    """A request-level failure: nothing was accepted, nothing changed."""

    status: int = 400

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"success": False, "error": self.message, **self.extra}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), self.status)


class BadRequest(IngestError):
    """400: bad JSON, a missing or malformed field."""

    status = 400


class Unauthorized(IngestError):
    """401: missing or invalid API key, or a source that does not accept events."""

    status = 401


class PayloadTooLarge(IngestError):
    """413: /batch body or row count over the limit; the body carries ``limit``."""

    status = 413


class UnsupportedMediaType(IngestError):
    """415: /batch body that is not ``application/json``."""

    status = 415


class InvalidEvent(ValueError):
    """One event failed validation: a 400 on /track, an ``invalid_event`` row on /batch."""
