"""An Ours Privacy fake on a frozen clock, a sync client over it, and a loopback HTTP receiver
standing in for an HTTPDestination's endpoint (reached through the kernel's http client)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from careflow.mocks.ours import create_app

from ..fake_env import HOOK_URL, FakeEnv

START = "2026-01-01T12:00:00Z"


class OursEnv(FakeEnv):
    def __init__(self, seed: int = 3) -> None:
        super().__init__(create_app, "http://127.0.0.1:8403", START, seed)
        self.refresh_credentials()

    def refresh_credentials(self) -> None:
        creds = self.backend.credentials_of(self.backend.state())
        self.token, self.test_token = creds["token"], creds["test_token"]

    @property
    def now_ms(self) -> float:
        return self.clock.now().timestamp() * 1000

    # ingest
    def post(self, path: str, body: Any, **kwargs: Any) -> httpx.Response:
        return self.client.post(f"/api/v1{path}", json=body, **kwargs)

    def track(self, token: str | None = None, **fields: Any) -> httpx.Response:
        return self.post("/track", {"token": token or self.token, **fields})

    def identify(self, token: str | None = None, **fields: Any) -> httpx.Response:
        return self.post("/identify", {"token": token or self.token, **fields})

    def batch(self, events: list[dict[str, Any]], token: str | None = None) -> httpx.Response:
        return self.post("/batch", {"token": token or self.token, "events": events})

    # admin
    def events(self, **filters: Any) -> list[dict[str, Any]]:
        return self.admin("GET", "/events", params=filters)["items"]

    def dispatches(self, **filters: Any) -> list[dict[str, Any]]:
        return self.admin("GET", "/dispatches", params=filters)["items"]

    def add_http_destination(self, events: list[str] | None = None) -> None:
        self.admin(
            "POST",
            "/destinations",
            json={"id": "crm-hook", "type": "HTTPDestination", "settings": {"url": HOOK_URL}},
        )
        allowed = self.admin("GET", "/allowed-events")["items"]
        for item in allowed:
            if events is None or item["name"] in events:
                item["destinationIds"].append("crm-hook")
        self.admin("PUT", "/allowed-events", json={"items": allowed})

    def reset(self) -> None:
        self.admin("POST", "/reset")
        self.received.clear()
        self.refresh_credentials()


@pytest.fixture
def env() -> Iterator[OursEnv]:
    ours = OursEnv()
    yield ours
    ours.close()
