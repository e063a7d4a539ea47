"""The ``Kernel``: what one fake server shares with every other (clock, journal, faults, sender)."""

from __future__ import annotations

import contextvars
import itertools
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

import careflow.limits as limits
from careflow.clock import VirtualClock

from .backend import Backend
from .faults import FaultStore
from .journal import Journal
from .masking import Masker
from .webhooks import WebhookSender

correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "careflow_correlation_id", default=None
)

# A request id is only ever compared (journal filter, timelines, Caspio's RequestId): it must be
# unique, not unguessable. 64 random bits per process (drawn again in a forked child) and a
# counter, as 32 hex digits like the uuid4().hex it replaces: ~0.25 µs instead of ~2.3 µs, and
# unique across restarts too (a journal is not persisted, but a client may keep ids it saw).
_ids = itertools.count()
_prefix = os.urandom(8).hex()


def _reseed() -> None:
    global _ids, _prefix
    _ids, _prefix = itertools.count(), os.urandom(8).hex()


os.register_at_fork(after_in_child=_reseed)


def new_request_id() -> str:
    """A fresh request id: 32 lowercase hex digits, unique across processes and restarts."""
    return f"{_prefix}{next(_ids):016x}"


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
        # CAREFLOW_BODY_TIMEOUT read once, here, not on every request with a body (issue 18)
        self.body_timeout = limits.body_timeout()
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
            backend.open_store(self.data_dir)

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
        self.flush()

    def reset(self, tenant: str | None = None) -> None:
        """Seeded state again: data, journal, faults, deliveries."""
        assert self.backend is not None
        self.backend.reset(tenant)
        self.journal.clear(tenant)
        self.webhooks.clear(tenant)
        self.faults.clear(tenant)

    def flush(self) -> None:
        """With a data dir: write what changed (the middleware calls it as each answer starts;
        background work that changes state calls it when done)."""
        if self.backend is not None:
            self.backend.flush()

    def save(self) -> None:
        """At shutdown: write what is left and close the store."""
        if self.backend is not None:
            self.backend.close_store()
