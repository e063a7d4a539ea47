"""A Caspio tenant on disk with ``--data-dir`` (the kernel's durable.py does the writing).

The tables stay real SQLite tables in the tenant's in-memory database (reads never touch the
disk); what the data dir keeps is each tenant cut into entities:

- sections ``account_id``, ``counter``, ``profiles``, ``meter``, and ``tables`` (every table's
  name, note and field objects, in creation order);
- collections ``tokens`` and ``refresh`` (one entity per token: the token is the key, which the
  store keeps only as an HMAC, and the value is sealed), ``webhooks`` (one per webhook);
- per table ``rows:<Table>`` (one entity per row, keyed by PK_ID, with every stored value,
  password fields included) and ``seq:<Table>`` (the last PK_ID handed out: AUTONUMBER ids are
  never reused, even when the highest rows were deleted before a restart).

A part that changes a row calls ``CaspioBackend.rows_changed``; the kernel reads the row back
from SQLite when it flushes, so an insert costs one primary-key lookup and one small write.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from careflow.mocks.kernel.durable import WHOLE, Entity

from .records import insert_row
from .sqltext import quote
from .state import CaspioState, Table

if TYPE_CHECKING:
    from .models import CaspioBackend

COLLECTIONS = ("tokens", "refresh", "webhooks")
SECTIONS = ("account_id", "counter", "meter")


def tables_meta(state: CaspioState) -> list[dict[str, Any]]:
    return [{"name": t.name, "note": t.note, "fields": t.fields} for t in state.tables.values()]


def sequence(state: CaspioState, table: str) -> int:
    row = state.db.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
    return int(row[0]) if row else 0


def row(state: CaspioState, table: str, pk: int) -> dict[str, Any] | None:
    cur = state.db.execute(f'SELECT * FROM {quote(table)} WHERE "PK_ID" = ?', (pk,))
    found = cur.fetchone()
    if found is None:
        return None
    return dict(zip([d[0] for d in cur.description], found, strict=True))


def entities(state: CaspioState) -> list[Entity]:
    with state.lock:
        out: list[Entity] = [(name, WHOLE, getattr(state, name)) for name in SECTIONS]
        out.append(("profiles", WHOLE, [asdict(p) for p in state.profiles.values()]))
        out.append(("tables", WHOLE, tables_meta(state)))
        for name in COLLECTIONS:
            out.extend((name, key, value) for key, value in getattr(state, name).items())
        for table in state.tables.values():
            out.append((f"seq:{table.name}", WHOLE, sequence(state, table.name)))
            cur = state.db.execute(f'SELECT * FROM {quote(table.name)} ORDER BY "PK_ID"')
            names = [d[0] for d in cur.description]
            section = f"rows:{table.name}"
            for values in cur.fetchall():
                record = dict(zip(names, values, strict=True))
                out.append((section, record["PK_ID"], record))
        return out


def entity_value(state: CaspioState, section: str, key: Any) -> tuple[bool, Any]:
    with state.lock:
        if section == "profiles":
            return True, [asdict(p) for p in state.profiles.values()]
        if section == "tables":
            return True, tables_meta(state)
        if section.startswith("seq:"):
            return True, sequence(state, section[4:])
        if section.startswith("rows:"):
            if section[5:].lower() not in state.tables:
                return False, None
            found = row(state, section[5:], key)
            return found is not None, found
        value = getattr(state, section)
        if key is WHOLE:
            return True, value
        return (True, value[key]) if key in value else (False, None)


def assemble(backend: CaspioBackend, tenant: str, stored: list[Entity]) -> CaspioState:
    """A tenant back from its entities: the metadata, then each table with its rows (columns
    a field no longer has are left out) and its PK_ID sequence."""
    data: dict[str, Any] = {}
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    seqs: dict[str, int] = {}
    for section, key, value in stored:
        if section.startswith("rows:"):
            rows[section[5:]].append(value)
        elif section.startswith("seq:"):
            seqs[section[4:]] = int(value)
        elif key is WHOLE:
            data[section] = value
        else:
            data.setdefault(section, {})[key] = value
    state = CaspioState.restored(tenant, data)
    for meta in data.get("tables", []):
        table = backend.create_table(state, meta["name"], list(meta["fields"]), meta["note"])
        table.fields = [dict(f) for f in meta["fields"]]
        _restore_rows(state, table, rows.get(table.name, []), seqs.get(table.name, 0))
    return state


def _restore_rows(state: CaspioState, table: Table, rows: list[dict[str, Any]], seq: int) -> None:
    columns = {c.lower() for c in table.columns()}
    for record in sorted(rows, key=lambda r: r["PK_ID"]):
        insert_row(state, table, {k: v for k, v in record.items() if k.lower() in columns})
    if seq <= sequence(state, table.name):
        return
    updated = state.db.execute(
        "UPDATE sqlite_sequence SET seq = ? WHERE name = ?", (seq, table.name)
    ).rowcount
    if not updated:
        state.db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table.name, seq))
