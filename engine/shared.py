"""What the engine's parts share: the store, the clock, the HTTP client, the vault; ids, instants
and the two errors the HTTP API maps (404, 409).

The parts (workflows.py, triggers.py, runs.py, executor.py) each hold the same ``Shared``, so a
client swapped in later (``engine.http = ...``) reaches all of them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

import httpx

from .clock import Clock
from .secrets import Vault
from .store import Store


class NotFound(LookupError):
    pass


class Conflict(ValueError):
    pass


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(6)}"


@dataclass
class Shared:
    clock: Clock
    http: httpx.AsyncClient
    store: Store
    vault: Vault
    engine_url: str = "http://127.0.0.1:8400"
    # Whether steps may call hosts that are not loopback (``careflow up --allow-remote``).
    allow_remote: bool = False

    def now(self) -> str:
        return iso(self.clock.now())
