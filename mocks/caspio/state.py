"""Caspio state (caspio.md): one tenant's profiles, tokens, tables (each a real SQLite table
in the tenant's own database), webhooks and meter, and the helpers every part uses on that
database.

The parts (auth.py, meter.py, schema.py, records.py, webhooks.py, messages.py) read and change
this state; models.py composes them into the ``CaspioBackend``.
"""

from __future__ import annotations

import contextlib
import re
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

    def by_name(self) -> dict[str, dict[str, Any]]:
        """The fields by lowercased name, as ``field`` finds them (the first of a name): one
        pass for a caller that looks up many names (a record body), not one per name."""
        return {f["Name"].lower(): f for f in reversed(self.fields)}

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

    @classmethod
    def restored(cls, tenant: str, data: dict[str, Any]) -> CaspioState:
        """A state with the exported (or stored) profiles, tokens, webhooks and meter of
        ``data``; its tables are the caller's to restore."""
        state = cls(data.get("account_id", "sbx" + tenant))
        state.counter = int(data.get("counter", 0))
        for p in data.get("profiles", []):
            state.profiles[p["name"]] = Profile(**p)
        state.tokens = dict(data.get("tokens", {}))
        state.refresh = dict(data.get("refresh", {}))
        state.webhooks = dict(data.get("webhooks", {}))
        state.meter.update(data.get("meter", {}))
        return state

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


# [C] caspio.md §6.2 SqlServerError carries SQL Server's own text: the SQLite errors the fake
# can meet, in SQL Server's words (its message numbers in comments); never SQLite's own text.
_SQL_SERVER = [
    (re.compile(r"no such column: (.+)"), "Invalid column name '{0}'."),  # 207
    (re.compile(r"ambiguous column name: (.+)"), "Ambiguous column name '{0}'."),  # 209
    (re.compile(r"no such function: (\w+)"), "'{0}' is not a recognized built-in function name."),
    (
        re.compile(r"wrong number of arguments to function (\w+)\(\)"),
        "The {0} function requires a different number of arguments.",  # 174
    ),
    (
        re.compile(r"misuse of (?:aggregate|window)(?: function)?:? ?(\w*)"),
        "An aggregate may not appear in the WHERE clause unless it is in a subquery contained in "
        "a HAVING clause or a select list, and the column being aggregated is an outer "
        "reference.",  # 147
    ),
    (re.compile(r"near \"(.+?)\": syntax error"), "Incorrect syntax near '{0}'."),  # 102
    (
        re.compile(r"incomplete input|unrecognized token"),
        "Incorrect syntax near the end of the query.",
    ),
    (
        re.compile(r"integer overflow|too large|too big|out of range"),
        "Arithmetic overflow error converting expression to data type bigint.",  # 8115
    ),
    (re.compile(r"datatype mismatch"), "Operand type clash."),  # 206
    (
        re.compile(r"NOT NULL constraint failed: \w+\.(\w+)"),
        "Cannot insert the value NULL into column '{0}'; column does not allow nulls.",  # 515
    ),
    (
        re.compile(r"depth|too complex|too many|stack overflow|too large"),
        "The query processor ran out of internal resources and could not produce a query plan. "
        "Please simplify the query.",  # 8623
    ),
]


def sql_message(exc: Exception) -> str:
    """SQL Server's text for an SQLite error ([C] caspio.md §6.2); never SQLite's own words."""
    text = str(exc)
    if "UNIQUE" in text:
        return "Cannot insert duplicate key: a unique field already has this value."
    for pattern, message in _SQL_SERVER:
        found = pattern.search(text)
        if found:
            return message.format(*(g.strip('"') for g in found.groups()))
    return "The query could not be run; check its q.select, q.where, q.groupBy and q.orderBy."
