"""A WhatConverts fake on a frozen clock, sync clients for the profile and agency keys, and a
loopback receiver standing in for a webhook target (reached through the kernel's http client)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from careflow.mocks.whatconverts import create_app

from ..fake_env import HOOK_URL, FakeEnv

START = "2026-03-02T12:00:00Z"
BASE = "http://127.0.0.1:8401"
__all__ = ["HOOK_URL", "WCEnv"]


class WCEnv(FakeEnv):
    def __init__(self, seed: int = 3) -> None:
        super().__init__(create_app, BASE, START, seed)
        self.creds = self.backend.credentials_of(self.backend.state())
        self.profile = self.api_client(self.creds["api_token"], self.creds["api_secret"])
        self.master = self.api_client(self.creds["master_token"], self.creds["master_secret"])
        self.anon = self.new_client(base_url=f"{BASE}/api/v1")

    def api_client(self, token: str, secret: str) -> httpx.Client:
        return self.new_client(base_url=f"{BASE}/api/v1", auth=(token, secret))

    @property
    def state(self) -> Any:
        return self.backend.state()


@pytest.fixture
def env() -> Iterator[WCEnv]:
    e = WCEnv()
    yield e
    e.close()
