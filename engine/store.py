"""The engine's durable store: SQLite in WAL mode, one connection, committed step by step."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS authentications (
    id TEXT PRIMARY KEY, name TEXT UNIQUE NOT NULL, app TEXT NOT NULL, secret BLOB NOT NULL,
    created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS workflows (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, version INTEGER NOT NULL,
    definition TEXT NOT NULL, trigger_state TEXT NOT NULL DEFAULT '{}', next_at TEXT,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY, workflow_id TEXT NOT NULL, idem_key TEXT NOT NULL, payload TEXT NOT NULL,
    correlation_id TEXT, received_at TEXT NOT NULL, UNIQUE (workflow_id, idem_key));
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, workflow_id TEXT NOT NULL,
    event_id TEXT, status TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT,
    retry_of TEXT, correlation_id TEXT, wake_at TEXT, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, wake_at);
-- GET /api/runs pages newest first by start order (seq), by workflow and/or status: each
-- filter has an index in that order, so a page reads only its own rows.
CREATE INDEX IF NOT EXISTS runs_by_workflow ON runs (workflow_id, seq);
CREATE INDEX IF NOT EXISTS runs_by_status_seq ON runs (status, seq);
CREATE INDEX IF NOT EXISTS runs_by_workflow_status ON runs (workflow_id, status, seq);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, target TEXT, detail TEXT NOT NULL);
"""


class Store:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.db = sqlite3.connect(
            str(path) if path else ":memory:", check_same_thread=False, isolation_level=None
        )
        self.db.row_factory = sqlite3.Row
        if path is not None:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)
        self._lock = threading.RLock()
        # Counts status changes made from outside a run's own progress (cancel, a workflow
        # deleted, reset): the executor re-reads a run's status after a step only when it moved.
        self.interventions = 0

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One transaction: committed when the block ends, rolled back on error."""
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def one(self, sql: str, *args: Any) -> sqlite3.Row | None:
        with self._lock:
            return self.db.execute(sql, args).fetchone()

    def all(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        with self._lock:
            return self.db.execute(sql, args).fetchall()

    def audit(
        self,
        conn: sqlite3.Connection,
        time: str,
        actor: str,
        action: str,
        target: str | None,
        detail: dict[str, Any],
    ) -> None:
        conn.execute(
            "INSERT INTO audit (time, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
            (time, actor, action, target, json.dumps(detail, default=str)),
        )

    def reset(self) -> None:
        self.interventions += 1
        with self.tx() as conn:
            for table in ("authentications", "workflows", "events", "runs", "audit"):
                conn.execute(f"DELETE FROM {table}")

    def close(self) -> None:
        self.db.close()
