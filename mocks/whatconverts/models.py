"""WhatConverts state and rules (placeholder: credentials only; the vendor issue fills it in)."""

from __future__ import annotations

from typing import Any

from mocks.kernel import Backend, Synthetic


class WhatConvertsBackend(Backend[dict[str, Any]]):
    service = "whatconverts"

    def new_state(self, tenant: str, synthetic: Synthetic) -> dict[str, Any]:
        return {
            "profile_id": 101,
            "api_token": synthetic.token("profile-key", 101),
            "api_secret": synthetic.token("profile-secret", 101),
            "master_token": synthetic.token("master-key"),
            "master_secret": synthetic.token("master-secret"),
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
        keys = ("api_token", "api_secret", "profile_id", "master_token", "master_secret")
        return {k: state[k] for k in keys}

    def credential_keys(self, state: dict[str, Any]) -> list[str]:
        return [state["api_token"], state["master_token"]]

    def error_body(self, status: int, message: str) -> tuple[Any, dict[str, str]]:
        # WhatConverts errors are JSON with a single error_message key (vendor facts §4).
        return {"error_message": message}, {}
