"""The ``Kernel``: what one fake server shares with every other (clock, journal, faults, sender)."""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from careflow.clock import VirtualClock

from .backend import Backend
from .faults import FaultStore
from .journal import Journal
from .masking import Masker
from .webhooks import WebhookSender

correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "careflow_correlation_id", default=None
)


class Kernel:
    """Shared machinery of one fake. ``scenarios`` hands the same clock to every kernel."""

    def __init__(
        self,
        service: str,
        *,
        clock: VirtualClock | None = None,
        seed: int = 0,
        allow_remote: bool = False,
        data_dir: str | Path | None = None,
        http_client: httpx.AsyncClient | None = None,
        journal_capacity: int | None = None,
    ) -> None:
        self.service = service
        self.clock = clock or VirtualClock()
        self.seed = seed
        self.allow_remote = allow_remote
        self.data_dir = Path(data_dir) if data_dir else None
        # None: CAREFLOW_JOURNAL_CAPACITY, else 5,000 (see journal.py)
        self.journal = Journal(journal_capacity)
        self.faults = FaultStore(seed)
        self.masker = Masker()
        self.http_client = http_client
        self.webhooks = WebhookSender(
            self.clock, client=http_client, allow_remote=allow_remote, masker=self.masker
        )
        self.backend: Backend[Any] | None = None
        # Set by the server runner: faults then behave as they would on a real socket.
        self.over_socket = False
        self._settlers: list[Callable[[], Awaitable[None]]] = [self.webhooks.drain]

    def attach(self, backend: Backend[Any]) -> None:
        self.backend = backend
        self.masker = Masker(backend.phi_fields)
        self.webhooks.masker = self.masker
        self.journal.masker = self.masker
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            backend.load(self.data_dir)

    def set_http_client(self, client: httpx.AsyncClient | None) -> None:
        """Route outbound calls (webhooks, HTTP destinations) through ``client``."""
        self.http_client = client
        self.webhooks.client = client

    def on_settle(self, settler: Callable[[], Awaitable[None]]) -> None:
        """Register background work that ``settle()`` waits for (e.g. an async pipeline)."""
        self._settlers.append(settler)

    async def settle(self) -> None:
        """Wait until background work (webhook attempts, pipelines) has finished."""
        for settler in self._settlers:
            await settler()

    def reset(self, tenant: str | None = None) -> None:
        """Seeded state again: data, journal, faults, deliveries."""
        assert self.backend is not None
        self.backend.reset(tenant)
        self.journal.clear(tenant)
        self.webhooks.clear(tenant)
        self.faults.clear(tenant)

    def save(self) -> None:
        if self.data_dir is not None and self.backend is not None:
            self.backend.save(self.data_dir)
