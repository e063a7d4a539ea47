"""Caspio state and rules (placeholder: the demo web services profile only)."""

from __future__ import annotations

import uuid
from typing import Any

from mocks.kernel import Backend, Synthetic
from mocks.kernel.core import correlation_id


class CaspioBackend(Backend[dict[str, Any]]):
    service = "caspio"

    def new_state(self, tenant: str, synthetic: Synthetic) -> dict[str, Any]:
        return {
            "profile_name": "Keragon demo",
            "client_id": synthetic.token("client-id"),
            "client_secret": synthetic.token("client-secret", length=48),
        }

    def dump_state(self, state: dict[str, Any]) -> dict[str, Any]:
        return dict(state)

    def load_state(self, tenant: str, data: dict[str, Any]) -> dict[str, Any]:
        return dict(data)

    def seed_state(
        self, tenant: str, state: dict[str, Any], body: dict[str, Any]
    ) -> dict[str, Any]:
        return {}

    def credentials_of(self, state: dict[str, Any]) -> dict[str, Any]:
        return {k: state[k] for k in ("client_id", "client_secret", "profile_name")}

    def credential_keys(self, state: dict[str, Any]) -> list[str]:
        return [state["client_id"]]

    def error_body(self, status: int, message: str) -> tuple[Any, dict[str, str]]:
        # Caspio's client-error envelope (vendor facts §6.1) and its request id header.
        request_id = correlation_id.get() or uuid.uuid4().hex
        codes = {401: "Unauthorized", 404: "ObjectNotFound", 429: "TooManyRequests"}
        body = {
            "Code": codes.get(status, "InternalError"),
            "Message": message,
            "Resource": "",
            "RequestId": request_id,
        }
        return body, {"X-Caspio-Request-ID": request_id}
