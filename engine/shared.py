"""What the engine's parts share: the store, the clock, the HTTP client, the vault; ids and the
two errors the HTTP API maps (404, 409). Instants are ``careflow.clock.format_instant``.

The parts (workflows.py, triggers.py, runs.py, executor.py) each hold the same ``Shared``, so a
client swapped in later (``engine.http = ...``) reaches all of them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import httpx

from careflow.clock import format_instant

from .clock import Clock
from .secrets import Vault
from .store import Store


class NotFound(LookupError):
    pass


class Conflict(ValueError):
    pass


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(6)}"


@dataclass
class Shared:
    clock: Clock
    store: Store
    vault: Vault
    engine_url: str = "http://127.0.0.1:8400"
    # Whether steps may call hosts that are not loopback (``careflow up --allow-remote``).
    allow_remote: bool = False
    # The client given, else one made on first use (``http``): a stack swaps in its own before
    # any call, and an unused default would still cost an SSL context (trust store) at start.
    client: httpx.AsyncClient | None = None

    @property
    def http(self) -> httpx.AsyncClient:
        if self.client is None:
            self.client = httpx.AsyncClient(timeout=30)
        return self.client

    @http.setter
    def http(self, client: httpx.AsyncClient) -> None:
        self.client = client

    def now(self) -> str:
        return format_instant(self.clock.now())
