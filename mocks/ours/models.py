"""Ours Privacy state and rules (placeholder: the demo source's live and test keys only)."""

from __future__ import annotations

from typing import Any

from mocks.kernel import Backend, Synthetic


class OursBackend(Backend[dict[str, Any]]):
    service = "ours"

    def new_state(self, tenant: str, synthetic: Synthetic) -> dict[str, Any]:
        return {
            "token": synthetic.token("source-key", length=64),
            "test_token": synthetic.token("source-key", "test", length=64),
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
        return {"token": state["token"], "test_token": state["test_token"]}

    def credential_keys(self, state: dict[str, Any]) -> list[str]:
        return [state["token"], state["test_token"]]

    def error_body(self, status: int, message: str) -> tuple[Any, dict[str, str]]:
        # Ingest API errors: {"success": false} (vendor facts §6); we add a readable "error".
        return {"success": False, "error": message}, {}
