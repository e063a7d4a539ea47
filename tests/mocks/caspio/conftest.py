"""A Caspio fake on a frozen clock, a sync client with a bearer token, and a loopback receiver
standing in for a webhook target (reached through the kernel's http client)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from careflow.mocks.caspio import create_app

from ..fake_env import HOOK_URL, FakeEnv

START = "2026-01-01T12:00:00Z"
V3 = "/integrations/rest/v3"


class CaspioEnv(FakeEnv):
    def __init__(self, seed: int = 3, **options: Any) -> None:
        super().__init__(create_app, "http://127.0.0.1:8402", START, seed, **options)
        self.creds = self.backend.credentials_of(self.backend.state())
        self.token = self.get_token()["access_token"]

    def get_token(self, **form: Any) -> dict[str, Any]:
        data = {
            "grant_type": "client_credentials",
            "client_id": self.creds["client_id"],
            "client_secret": self.creds["client_secret"],
            **form,
        }
        response = self.client.post("/oauth/token", data=data)
        assert response.status_code == 200, response.text
        return response.json()

    def call(
        self, method: str, path: str, token: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token or self.token}", **kwargs.pop("headers", {})}
        return self.client.request(method, V3 + path, headers=headers, **kwargs)

    def records(self, table: str = "Patients", **params: Any) -> list[dict[str, Any]]:
        response = self.call("GET", f"/tables/{table}/records", params=params)
        assert response.status_code == 200, response.text
        return response.json()["Result"]

    def webhook(self, events: list[dict[str, Any]], name: str = "hook") -> dict[str, Any]:
        r = self.call("POST", "/outgoingWebhooks", json={"Name": name, "OutgoingUrls": [HOOK_URL]})
        assert r.status_code == 201, r.text
        hook = r.json()
        for ev in events:
            e = self.call("POST", f"/outgoingWebhooks/{hook['Id']}/events", json=ev)
            assert e.status_code == 201, e.text
        return hook


@pytest.fixture
def env() -> Iterator[CaspioEnv]:
    e = CaspioEnv()
    yield e
    e.close()
