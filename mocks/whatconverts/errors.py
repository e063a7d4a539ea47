"""WhatConverts errors: JSON with a single ``error_message`` key and a 4xx status.

[C] whatconverts.md §4: errors are ``{"error_message": "..."}``, no machine code. [?] messages
for most validation failures: the fake uses 400 + a message that names the parameter.
"""

from __future__ import annotations

from fastapi.responses import JSONResponse


class WCError(Exception):
    status = 400

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status

    def response(self) -> JSONResponse:
        return JSONResponse({"error_message": self.message}, self.status)


class Unauthorized(WCError):
    status = 401


class TooManyRequests(WCError):
    status = 429
