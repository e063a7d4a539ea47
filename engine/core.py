"""The ``Engine``: one facade over the engine's three parts, and what drives them on the clock.

- workflows.py — authentications and workflow definitions;
- triggers.py — trigger lifecycle, polls and schedules, webhooks, test-trigger;
- runs.py + executor.py — runs: events in, steps run, retries, cancel, retry, recovery, purge.

They share one ``Shared`` (store, clock, HTTP client, vault). Runs execute on the engine's event
loop, one step at a time; every step's progress is committed before the next begins. Waiting
(Delay steps, retry backoff) is a ``wake_at`` on the virtual clock: moving the clock releases what
became due, and ``run_until_idle()`` drives everything that is due now (polls, schedules, runs)
until nothing is left to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from careflow.clock import VirtualClock

from . import connectors  # noqa: F401  (registers every connector)
from .clock import Clock
from .executor import Executor
from .model import WorkflowDef, WorkflowInvalid
from .runs import PAGE_SIZE, InvalidPage, Runs, run_dict
from .secrets import KEY_ENV, LEGACY_KEY_FILE, Vault, legacy_key, load_key, rekey
from .shared import Conflict, NotFound, Shared
from .store import Store
from .triggers import Triggers
from .workflows import Workflows


class Engine:
    def __init__(
        self,
        *,
        clock: Clock | None = None,
        http: httpx.AsyncClient | None = None,
        data_dir: str | Path | None = None,
        engine_url: str = "http://127.0.0.1:8400",
        allow_remote: bool = False,
        secret_key: bytes | None = None,
        max_runs: int | None = None,
        max_audit: int | None = None,
    ) -> None:
        """``max_runs`` / ``max_audit``: how many finished runs (and trigger events) and audit
        rows are kept besides the 7-day retention (default ``CAREFLOW_MAX_RUNS`` /
        ``CAREFLOW_MAX_AUDIT``, else 10,000 / 50,000; see runs.py)."""
        self.data_dir = Path(data_dir) if data_dir else None
        if self.data_dir:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        self.shared = Shared(
            clock=clock or VirtualClock(),
            client=http,
            store=Store(self.data_dir / "engine.sqlite" if self.data_dir else None),
            vault=Vault(secret_key or load_key(self.data_dir)),
            engine_url=engine_url,
            allow_remote=allow_remote,
        )
        self._move_legacy_key(secret_key)
        self.workflows = Workflows(self.shared)
        self.runs = Runs(
            self.shared, self.workflows, self.kick, max_runs=max_runs, max_audit=max_audit
        )
        self.executor = Executor(self.shared, self.workflows, self.runs)
        self.triggers = Triggers(self.shared, self.workflows, self.runs)
        self._lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._again = False
        self.runs.recover()
        self.clock.subscribe(self._on_clock_moved)

    def _move_legacy_key(self, secret_key: bytes | None) -> None:
        """Earlier versions kept the vault's key beside the database (``secret.key``): what it
        sealed is sealed again under the data dir's key (careflow.keys), then it is deleted."""
        old = legacy_key(self.data_dir)
        if old is None or secret_key is not None or os.environ.get(KEY_ENV):
            return
        with self.store.tx() as db:
            rekey(db, Vault(old), self.vault)
        assert self.data_dir is not None
        (self.data_dir / LEGACY_KEY_FILE).unlink()

    # what the parts share -------------------------------------------------------------------
    @property
    def clock(self) -> Clock:
        return self.shared.clock

    @property
    def http(self) -> httpx.AsyncClient:
        return self.shared.http

    @http.setter
    def http(self, client: httpx.AsyncClient) -> None:
        self.shared.http = client  # every part calls out through the new client from now on

    @property
    def store(self) -> Store:
        return self.shared.store

    @property
    def vault(self) -> Vault:
        return self.shared.vault

    @property
    def engine_url(self) -> str:
        return self.shared.engine_url

    @property
    def allow_remote(self) -> bool:
        return self.shared.allow_remote

    def now(self) -> str:
        return self.shared.now()

    # authentications and workflows (workflows.py) -------------------------------------------
    def create_authentication(
        self, name: str, app: str, credentials: dict[str, Any], actor: str = "api"
    ) -> dict[str, Any]:
        return self.workflows.create_authentication(name, app, credentials, actor)

    def list_authentications(self) -> list[dict[str, Any]]:
        return self.workflows.list_authentications()

    def delete_authentication(self, auth_id: str) -> None:
        self.workflows.delete_authentication(auth_id)

    def credentials(self, name: str | None) -> dict[str, Any]:
        return self.workflows.credentials(name)

    def workflow(self, workflow_id: str) -> WorkflowDef:
        return self.workflows.workflow(workflow_id)

    def workflow_dict(self, workflow_id: str) -> dict[str, Any]:
        return self.workflows.workflow_dict(workflow_id)

    def list_workflows(self) -> list[dict[str, Any]]:
        return self.workflows.list_workflows()

    def create_workflow(self, data: Any, text: str | None = None) -> dict[str, Any]:
        return self.workflows.create_workflow(data, text)

    # trigger lifecycle and events (triggers.py) ---------------------------------------------
    async def update_workflow(
        self, workflow_id: str, data: Any, text: str | None = None
    ) -> dict[str, Any]:
        return await self.triggers.update_workflow(workflow_id, data, text)

    async def activate(self, workflow_id: str) -> dict[str, Any]:
        return await self.triggers.activate(workflow_id)

    async def deactivate(self, workflow_id: str) -> dict[str, Any]:
        return await self.triggers.deactivate(workflow_id)

    async def delete_workflow(self, workflow_id: str) -> None:
        await self.triggers.delete_workflow(workflow_id)

    async def test_trigger(self, workflow_id: str) -> list[dict[str, Any]]:
        return await self.triggers.test_trigger(workflow_id)

    async def receive_hook(self, workflow_id: str, body: Any, headers: dict[str, str]) -> list[str]:
        return await self.triggers.receive_hook(workflow_id, body, headers)

    # runs (runs.py, executor.py) ------------------------------------------------------------
    def accept(
        self,
        workflow_id: str,
        records: list[dict[str, Any]],
        *,
        correlation_id: str | None = None,
        keys: list[str | None] | None = None,
        source: str = "trigger",
    ) -> list[str]:
        return self.runs.accept(
            workflow_id, records, correlation_id=correlation_id, keys=keys, source=source
        )

    async def test_step(
        self, workflow_id: str, step_id: str, sample: dict[str, Any]
    ) -> dict[str, Any]:
        return await self.executor.test_step(workflow_id, step_id, sample)

    @staticmethod
    def run_dict(row: Any) -> dict[str, Any]:
        return run_dict(row)

    def get_run(self, run_id: str) -> dict[str, Any]:
        return self.runs.get_run(run_id)

    def list_runs(
        self, workflow_id: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        return self.runs.list_runs(workflow_id, status)

    def page_runs(
        self,
        workflow_id: str | None = None,
        status: str | None = None,
        limit: int = PAGE_SIZE,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        return self.runs.page_runs(workflow_id, status, limit, cursor)

    def page_runs_json(
        self,
        workflow_id: str | None = None,
        status: str | None = None,
        limit: int = PAGE_SIZE,
        cursor: str | None = None,
    ) -> bytes:
        return self.runs.page_runs_json(workflow_id, status, limit, cursor)

    def get_run_json(self, run_id: str) -> bytes:
        return self.runs.get_run_json(run_id)

    def cancel_run(self, run_id: str) -> dict[str, Any]:
        return self.runs.cancel_run(run_id)

    def retry_run(self, run_id: str) -> dict[str, Any]:
        return self.runs.retry_run(run_id)

    # driving --------------------------------------------------------------------------------
    def kick(self) -> None:
        """Schedule ``run_until_idle`` on the engine's loop (coalesced)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = self._loop
            if loop is None or loop.is_closed():
                return
            loop.call_soon_threadsafe(self.kick)
            return
        self._loop = loop
        if any(not t.done() for t in self._tasks):
            self._again = True
            return
        task = loop.create_task(self.run_until_idle())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_clock_moved(self, _now: datetime) -> None:
        self.kick()

    async def run_until_idle(self, max_rounds: int = 10_000) -> int:
        """Do everything that is due on the clock now; return how many steps ran."""
        self._loop = asyncio.get_running_loop()
        done = 0
        async with self._lock:
            self._again = False
            self.runs.purge()
            await self.triggers.fire_due()
            for _ in range(max_rounds):
                due = self.runs.due()
                if not due:
                    if self._again:
                        self._again = False
                        await self.triggers.fire_due()
                        continue
                    break
                for run_id in due:
                    done += await self.executor.advance(run_id)
        return done

    async def settle(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self.run_until_idle()

    # audit / reset --------------------------------------------------------------------------
    def audit(self) -> list[dict[str, Any]]:
        return [
            {
                "id": r["seq"],
                "time": r["time"],
                "actor": r["actor"],
                "action": r["action"],
                "target": r["target"],
                "detail": json.loads(r["detail"]),
            }
            for r in self.store.all("SELECT * FROM audit ORDER BY seq")
        ]

    async def reset(self) -> None:
        for row in self.store.all("SELECT id FROM workflows WHERE status = 'active'"):
            with contextlib.suppress(Exception):
                await self.deactivate(row["id"])
        self.store.reset()


__all__ = [
    "Conflict",
    "Engine",
    "InvalidPage",
    "NotFound",
    "WorkflowInvalid",
]
