"""A fake's state on disk with ``--data-dir``: every acknowledged write is there before the answer.

The generic half of durability (the vendor half is which parts of its state a write changes):

- A vendor's state is cut into **entities**: a ``section`` of its state (``"usage"``), or one
  item of a **collection** section (``"leads"`` / lead 100123). ``Backend.entities()`` cuts a
  whole tenant, ``Backend.assemble()`` puts one back together, ``Backend.entity_value()`` reads
  one entity from the live state.
- A vendor part that changes its state says which entity: ``backend.changed(state, "leads",
  lead_id)``. Nothing is serialised then; the kernel's middleware calls ``Backend.flush()`` as
  the answer starts, which writes the current value of each changed entity in **one SQLite
  transaction** (WAL), so the work per request is what that request changed, never the whole
  state. Replacing a tenant (seed state, reset, import) writes that tenant whole.
- ``EntityStore`` is one SQLite file per fake, ``<data-dir>/<service>.sqlite3``, in WAL mode with
  ``synchronous=NORMAL``: a commit is a ``write()`` to the WAL, which the OS keeps when the process
  is SIGKILLed (a power cut may lose the last commits, never corrupt the file).
- Nothing is stored in clear: each value is JSON sealed with AES-GCM under the data dir's key
  (``careflow.keys``; never in the data dir), bound to its tenant, section and key; the key column
  is an HMAC of the entity's key, so not even a token used as a dict key shows.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from careflow.keys import Sealer, derive, master_key

WHOLE = None  # the key of an entity that is a whole section
KEY_IDS_KEPT = 100_000  # entity key HMACs a store remembers
SCHEMA = """
CREATE TABLE IF NOT EXISTS entities (
    tenant TEXT NOT NULL, section TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
    PRIMARY KEY (tenant, section, key));
CREATE TABLE IF NOT EXISTS tenants (tenant TEXT PRIMARY KEY);
"""

Entity = tuple[str, Any, Any]  # (section, key or WHOLE, JSON-able value)


def _default(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot store a {type(value).__name__}")


def encode(value: Any) -> bytes:
    return json.dumps(value, default=_default, separators=(",", ":")).encode()


class EntityStore:
    """One fake's entities in one SQLite file; every method is one transaction."""

    def __init__(self, path: Path, *, key: bytes | None = None) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        secret = key if key is not None else derive(master_key(path.parent), "fake-state")
        self._sealer = Sealer(derive(secret, f"seal:{path.name}"))
        self._ids = derive(secret, f"ids:{path.name}")
        self._key_ids: dict[tuple[str, Any], str] = {}  # (section, key) → its HMAC, as computed
        self.db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        self._lock = threading.Lock()

    # sealing ---------------------------------------------------------------------------------
    def _key_id(self, section: str, key: Any) -> str:
        known = self._key_ids.get((section, key))
        if known is not None:
            return known
        text = b"" if key is WHOLE else encode(key)  # 5 and "5" differ; a tuple is its list
        digest = hmac.new(self._ids, section.encode() + b"\0" + text, hashlib.sha256)
        if len(self._key_ids) >= KEY_IDS_KEPT:
            self._key_ids.clear()
        self._key_ids[(section, key)] = found = digest.hexdigest()[:32]
        return found

    def _seal(self, tenant: str, section: str, key_id: str, key: Any, value: Any) -> bytes:
        aad = f"{tenant}\0{section}\0{key_id}".encode()
        return self._sealer.seal(encode([key, value]), aad)

    def _open(self, tenant: str, section: str, key_id: str, blob: bytes) -> tuple[Any, Any]:
        aad = f"{tenant}\0{section}\0{key_id}".encode()
        key, value = json.loads(self._sealer.open(blob, aad))
        return key, value

    # writing ---------------------------------------------------------------------------------
    def apply(
        self,
        replaced: dict[str, Iterable[Entity] | None],
        changes: list[tuple[str, str, Any, Any, bool]],
    ) -> None:
        """In one transaction: tenants replaced whole (None: dropped), then single entities
        ``(tenant, section, key, value, present)`` (``present`` False deletes)."""
        with self._lock:
            db = self.db
            db.execute("BEGIN IMMEDIATE")
            try:
                for tenant, entities in replaced.items():
                    db.execute("DELETE FROM entities WHERE tenant = ?", (tenant,))
                    if entities is None:
                        db.execute("DELETE FROM tenants WHERE tenant = ?", (tenant,))
                        continue
                    db.execute("INSERT OR IGNORE INTO tenants VALUES (?)", (tenant,))
                    self._put([self._row(tenant, *entity) for entity in entities])
                self._put([self._row(t, s, k, v) for t, s, k, v, present in changes if present])
                gone = [
                    (t, s, self._key_id(s, k)) for t, s, k, _v, present in changes if not present
                ]
                if gone:
                    db.executemany(
                        "DELETE FROM entities WHERE tenant = ? AND section = ? AND key = ?", gone
                    )
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def _row(self, tenant: str, section: str, key: Any, value: Any) -> tuple[str, str, str, bytes]:
        key_id = self._key_id(section, key)
        return tenant, section, key_id, self._seal(tenant, section, key_id, key, value)

    def _put(self, rows: list[tuple[str, str, str, bytes]]) -> None:
        # an upsert keeps the row's rowid: loading in rowid order keeps insertion order
        if rows:
            self.db.executemany(
                "INSERT INTO entities VALUES (?, ?, ?, ?) ON CONFLICT (tenant, section, key) "
                "DO UPDATE SET value = excluded.value",
                rows,
            )

    # reading ---------------------------------------------------------------------------------
    def tenants(self) -> list[str]:
        with self._lock:
            return [row[0] for row in self.db.execute("SELECT tenant FROM tenants ORDER BY rowid")]

    def entities(self, tenant: str) -> Iterator[Entity]:
        """Every entity of a tenant, in the order each was first written."""
        with self._lock:
            rows = self.db.execute(
                "SELECT section, key, value FROM entities WHERE tenant = ? ORDER BY rowid",
                (tenant,),
            ).fetchall()
        for section, key_id, blob in rows:
            key, value = self._open(tenant, section, key_id, blob)
            yield section, key, value

    def is_empty(self) -> bool:
        with self._lock:
            return self.db.execute("SELECT 1 FROM tenants LIMIT 1").fetchone() is None

    def close(self) -> None:
        with self._lock:
            self.db.close()


def sections_of(dump: dict[str, Any], collections: Iterable[str]) -> Iterator[Entity]:
    """The entities of a ``dump_state()`` document whose collection sections are dicts."""
    wanted = set(collections)
    for section, value in dump.items():
        if section in wanted:
            for key, item in value.items():
                yield section, key, item
        else:
            yield section, WHOLE, value


def document_of(entities: Iterable[Entity]) -> dict[str, Any]:
    """The inverse of ``sections_of``: a ``load_state()`` document."""
    data: dict[str, Any] = {}
    for section, key, value in entities:
        if key is WHOLE:
            data[section] = value
        else:
            data.setdefault(section, {})[key] = value
    return data
