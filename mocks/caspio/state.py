"""Caspio state (caspio.md): one tenant's profiles, tokens, tables (each a real SQLite table
in the tenant's own database), webhooks and meter, and the helpers every part uses on that
database.

The parts (auth.py, meter.py, schema.py, records.py, webhooks.py, messages.py) read and change
this state; models.py composes them into the ``CaspioBackend``.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .errors import NotFound, SqlError
from .meter import new_meter


@dataclass
class Profile:
    """[C] §1/§10: a web services profile: generated Client ID/Secret and two permissions."""

    name: str
    client_id: str
    client_secret: str
    all_objects: bool = True  # "Enable access to all objects"
    can_create: bool = True  # "Profile can create objects"
    enabled: bool = True


@dataclass
class Table:
    name: str
    note: str = ""
    fields: list[dict[str, Any]] = field(default_factory=list)

    def field(self, name: str) -> dict[str, Any] | None:
        return next((f for f in self.fields if f["Name"].lower() == name.lower()), None)

    def columns(self) -> dict[str, str]:
        cols = {"pk_id": "PK_ID"}
        cols.update({f["Name"].lower(): f["Name"] for f in self.fields})
        return cols

    def passwords(self) -> frozenset[str]:
        return frozenset(f["Name"].lower() for f in self.fields if f["Type"] == "PASSWORD")


class CaspioState:
    """One tenant: its profiles, tokens, tables (in its own sqlite3 database), webhooks, meter."""

    def __init__(self, account_id: str) -> None:
        self.account_id = account_id
        self.profiles: dict[str, Profile] = {}
        self.tokens: dict[str, dict[str, Any]] = {}
        self.refresh: dict[str, dict[str, Any]] = {}
        self.tables: dict[str, Table] = {}
        self.webhooks: dict[str, dict[str, Any]] = {}
        self.meter: dict[str, Any] = new_meter()
        self.counter = 0
        self.db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        self.lock = threading.RLock()

    def next_id(self, prefix: str = "") -> str:
        """Short lowercase alphanumeric ids like ``b5x49p`` ([O] §8.1), deterministic."""
        self.counter += 1
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"
        n, out = self.counter * 7919 + 36**5 * 10, ""
        while n:
            n, r = divmod(n, 36)
            out = digits[r] + out
        return prefix + out

    def table(self, name: str) -> Table:
        table = self.tables.get(name.lower())
        if table is None:
            raise NotFound("Requested object not found")  # [C] §6.2 ObjectNotFound
        return table


def iso(dt: datetime) -> str:
    """[C] §5.5: ISO 8601 without a zone suffix, UTC."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S")


@contextlib.contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One SQLite transaction: all of it or none; an SQLite error is Caspio's SqlServerError."""
    try:
        db.execute("BEGIN")
        yield
        db.execute("COMMIT")
    except sqlite3.Error as exc:
        db.execute("ROLLBACK")
        raise SqlError(sql_message(exc)) from None


def sql_message(exc: Exception) -> str:
    text = str(exc)
    if "UNIQUE" in text:
        return "Cannot insert duplicate key: a unique field already has this value."
    return f"Query failed: {text}"
