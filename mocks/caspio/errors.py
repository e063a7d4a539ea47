"""Caspio's error envelope. [C] caspio.md §6.1: ``{"Code","Message","Resource","RequestId"}``
plus an ``X-Caspio-Request-ID`` header carrying the same id. Codes and statuses: §6.2."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from careflow.mocks.kernel.core import correlation_id, new_request_id


def request_id() -> str:
    return correlation_id.get() or new_request_id()


def envelope(code: str, message: str, resource: str = "") -> tuple[dict[str, Any], dict[str, str]]:
    rid = request_id()
    body = {"Code": code, "Message": message, "Resource": resource, "RequestId": rid}
    return body, {"X-Caspio-Request-ID": rid}


class CaspioError(Exception):
    status = 400
    code = "InternalError"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.status = status or self.status

    def response(self, resource: str = "") -> JSONResponse:
        body, headers = envelope(self.code, self.message, resource)
        return JSONResponse(body, self.status, headers=headers)


class BadQuery(CaspioError):
    code = "IncorrectQueryParameter"  # [C] §6.2 400


class BadBody(CaspioError):
    code = "IncorrectBodyParameter"  # [C] §6.2 400


class SqlError(CaspioError):
    code = "SqlServerError"  # [C] §6.2 400, native SQL text


class NotFound(CaspioError):
    status = 404
    code = "ObjectNotFound"  # [C] §6.2 404


class FieldNotFound(CaspioError):
    status = 404
    code = "FieldNotFound"  # [O] §5.2 reported as 404


class NoPrivileges(CaspioError):
    code = "UnsufficientPrivileges"  # [C] §6.2 (sic)


class Unauthorized(CaspioError):
    # [C] §2: expired/invalid token → 401; body [?] undocumented: the fake uses the envelope.
    status = 401
    code = "Unauthorized"


class OverQuota(CaspioError):
    """[O] §7: 400 ``[{"message": ..., "name": "api-calls-rate"}]`` (the observed body)."""

    def response(self, resource: str = "") -> JSONResponse:
        body = [
            {"message": "You have exceeded your API call rate limits.", "name": "api-calls-rate"}
        ]
        return JSONResponse(body, 400, headers={"X-Caspio-Request-ID": request_id()})
