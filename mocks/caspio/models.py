"""The Caspio backend: the facade the HTTP layer, the admin routes and the tests use. It keeps
the kernel's hooks (seed, export/import, persistence) and hands each rule to the part that owns
it, moto-style; every rule cites the fact in docs/vendors/caspio.md it implements:

- state.py: the per-tenant state (profiles, tokens, tables in a SQLite database, webhooks);
- auth.py: web services profiles and OAuth tokens;
- meter.py: the Integrations meter;
- schema.py: tables and fields (DDL);
- records.py: rows (select, insert, update, delete);
- values.py: value conversion (the way Caspio converts a record's values);
- passwords.py: password fields (list, set, reset);
- payloads.py: custom payload templates of webhook events;
- webhooks.py: outgoing webhooks and their events;
- messages.py: the messages a record change sends, paced and metered.

The state classes live in state.py (not here) so the parts can build them without importing
this facade, which imports the parts; they are re-exported here.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import uuid
from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from careflow.mocks.kernel import Backend, Synthetic
from careflow.mocks.kernel.durable import Entity

from . import storage
from .auth import ACCESS_TTL, REFRESH_TTL, Auth
from .messages import Messages
from .meter import DEFAULT_ALLOWANCE, count_call
from .passwords import Passwords
from .records import Records, insert_row
from .schema import AUTO_TYPES, NAME, TYPES, UNIQUE_REQUIRED, Schema
from .sqltext import quote
from .state import CaspioState, Profile, Table, iso
from .webhooks import EVENT_SOURCES, EVENT_TYPES, PLAN_MAX_THROTTLING, Webhooks

__all__ = [
    "ACCESS_TTL",
    "AUTO_TYPES",
    "DEFAULT_ALLOWANCE",
    "EVENT_SOURCES",
    "EVENT_TYPES",
    "NAME",
    "PLAN_MAX_THROTTLING",
    "REFRESH_TTL",
    "TYPES",
    "UNIQUE_REQUIRED",
    "CaspioBackend",
    "CaspioState",
    "Profile",
    "Table",
    "iso",
]


class CaspioBackend(Backend[CaspioState]):
    service = "caspio"
    seed_keys = frozenset({"synthetic", "tables", "profiles", "webhooks"})
    synthetic_keys = frozenset({"patients"})
    phi_fields = frozenset(
        {
            "FirstName",
            "LastName",
            "Name",
            "DOB",
            "DateOfBirth",
            "Date_of_Birth",
            "Phone",
            "Email",
            "Address",
            "SSN",
            "MRN",
            "Diagnosis",
            "Notes",
            "Insurance_ID",
            "secret",
            "Secret",
            "client_secret",
            "access_token",
            "refresh_token",
        }
    )

    def __init__(self, kernel: Any) -> None:
        super().__init__(kernel)
        self.auth = Auth(self)
        self.schema = Schema()
        self.records = Records(self)
        self.passwords = Passwords(self)
        self.hooks = Webhooks(self)
        self.messages = Messages(self)

    # kernel hooks ---------------------------------------------------------------------------
    def new_state(self, tenant: str, synthetic: Synthetic) -> CaspioState:
        from .seed import seed_tenant

        state = CaspioState(account_id=synthetic.token("acct", length=8))
        seed_tenant(self, state, synthetic)
        return state

    def dump_state(self, state: CaspioState) -> dict[str, Any]:
        with state.lock:
            tables = {}
            for t in state.tables.values():
                cur = state.db.execute(f"SELECT * FROM {quote(t.name)} ORDER BY PK_ID")
                names = [d[0] for d in cur.description]
                tables[t.name] = {
                    "note": t.note,
                    "fields": t.fields,
                    "rows": [dict(zip(names, row, strict=True)) for row in cur.fetchall()],
                }
            return {
                "account_id": state.account_id,
                "counter": state.counter,
                "profiles": [asdict(p) for p in state.profiles.values()],
                "tokens": state.tokens,
                "refresh": state.refresh,
                "tables": tables,
                "webhooks": state.webhooks,
                "meter": state.meter,
            }

    def load_state(self, tenant: str, data: dict[str, Any]) -> CaspioState:
        state = CaspioState.restored(tenant, data)
        for name, t in data.get("tables", {}).items():
            table = self.create_table(
                state, name, list(t.get("fields", [])), note=t.get("note", "")
            )
            for row in t.get("rows", []):
                insert_row(state, table, row)
        return state

    # durability with a data dir (storage.py; the writing is the kernel's durable.py) --------
    def entities(self, state: CaspioState) -> list[Entity]:
        return storage.entities(state)

    def assemble(self, tenant: str, entities: Iterable[Entity]) -> CaspioState:
        return storage.assemble(self, tenant, list(entities))

    def entity_value(self, state: CaspioState, section: str, key: Any) -> tuple[bool, Any]:
        return storage.entity_value(state, section, key)

    def rows_changed(self, state: CaspioState, table: Table, ids: Iterable[int]) -> None:
        """Rows inserted, updated or deleted (and the sequence, meter and counter they use)."""
        if self.durable is None:
            return
        for pk in ids:
            self.changed(state, f"rows:{table.name}", pk)
        self.changed(state, f"seq:{table.name}")
        self.changed(state, "counter")
        self.changed(state, "meter")
        for hook_id in state.webhooks:  # message counts of the webhooks that fired
            self.changed(state, "webhooks", hook_id)

    def hook_changed(self, state: CaspioState, hook_id: str) -> None:
        """A webhook (or one of its events) was created, changed or deleted."""
        self.changed(state, "webhooks", hook_id)
        self.changed(state, "counter")

    def table_changed(self, state: CaspioState, table: Table, *, rows: bool = False) -> None:
        """A table's design changed (with ``rows``, its rows are written again: a rename)."""
        if self.durable is None:
            return
        self.changed(state, "tables")
        self.changed(state, f"seq:{table.name}")
        if rows:
            ids = [r[0] for r in state.db.execute(f'SELECT "PK_ID" FROM {quote(table.name)}')]
            self.rows_changed(state, table, ids)

    # the files of earlier versions (caspio.json + a SQLite copy per tenant), read once ------
    def load(self, data_dir: Path) -> bool:
        path = data_dir / f"{self.service}.json"
        if not path.exists():
            return False
        for tenant, data in json.loads(path.read_text()).items():
            tables = data.pop("tables", {})
            state = self.load_state(tenant, {**data, "tables": {}})
            for name, t in tables.items():
                state.tables[name.lower()] = Table(name, t.get("note", ""), list(t["fields"]))
            source = sqlite3.connect(data_dir / self.service / f"{_file_name(tenant)}.sqlite3")
            try:
                source.backup(state.db)
            finally:
                source.close()
            self._install(tenant, state)
        return True

    def remove_legacy(self, data_dir: Path) -> None:
        super().remove_legacy(data_dir)
        shutil.rmtree(data_dir / self.service, ignore_errors=True)

    def seed_state(self, tenant: str, state: CaspioState, body: dict[str, Any]) -> dict[str, Any]:
        from .seed import seed_body

        return seed_body(self, state, body, self.synthetic_for(tenant), tenant)

    def credentials_of(self, state: CaspioState) -> dict[str, Any]:
        p = state.profiles.get("Keragon demo") or next(iter(state.profiles.values()), None)
        if p is None:
            return {"client_id": "", "client_secret": "", "profile_name": ""}
        return {"client_id": p.client_id, "client_secret": p.client_secret, "profile_name": p.name}

    def credential_keys(self, state: CaspioState) -> list[str]:
        return [p.client_id for p in state.profiles.values()] + list(state.tokens)

    def error_body(
        self, status: int, message: str, resource: str = ""
    ) -> tuple[Any, dict[str, str]]:
        from .errors import envelope

        # [C] §6.2 codes by status; 401 is not in the table ([C] §2); 429 is undocumented
        # ([?] §7): the sandbox calls it TooManyRequests; a method no route takes (DELETE of a
        # table, say) is a 405 whose code says so ([?] §6.1: every 4xx has the envelope, but no
        # documented code fits; the code agrees with the status).
        codes = {
            401: "Unauthorized",
            403: "IpForbidden",
            404: "ObjectNotFound",
            405: "MethodNotAllowed",
            429: "TooManyRequests",
        }
        return envelope(codes.get(status, "InternalError"), message, resource)

    def input_error(
        self, status: int, message: str, resource: str = "", part: str = "body"
    ) -> tuple[Any, dict[str, str]]:
        """[C] §6.2 a bad body is IncorrectBodyParameter, a bad query IncorrectQueryParameter
        (also for 408/413, which §6 does not list: [?] same codes); 500 is InternalError."""
        from .errors import envelope

        if status >= 500:
            return self.error_body(status, message, resource)
        code = "IncorrectQueryParameter" if part == "query" else "IncorrectBodyParameter"
        return envelope(code, message, resource)

    # the parts, under the names the HTTP layer and the tests call ------------------------------
    def add_profile(
        self, tenant: str, name: str, *, all_objects: bool = True, can_create: bool = True
    ) -> Profile:
        profile = self.auth.add_profile(
            tenant, name, all_objects=all_objects, can_create=can_create
        )
        self.changed_tenant(tenant)  # profiles and the counter; rare
        return profile

    def delete_profile(self, tenant: str, name: str) -> bool:
        deleted = self.auth.delete_profile(tenant, name)
        self.changed_tenant(tenant)  # the profile and its tokens; rare
        return deleted

    def issue_token(
        self, tenant: str, profile: Profile, chain_expires: datetime | None = None
    ) -> dict[str, Any]:
        grant = self.auth.issue_token(tenant, profile, chain_expires)
        state = self.state(tenant)
        self.changed(state, "tokens", grant["access_token"])
        self.changed(state, "refresh", grant["refresh_token"])
        self.changed(state, "counter")
        return grant

    def profile_for_client(self, client_id: str, secret: str) -> tuple[str, Profile] | None:
        return self.auth.profile_for_client(client_id, secret)

    def use_refresh(
        self, token: str, client_id: str | None
    ) -> tuple[str, Profile, datetime] | None:
        found = self.auth.use_refresh(token, client_id)
        if found is not None:
            self.changed(self.state(found[0]), "refresh", token)  # used up: deleted
        return found

    def authenticate(self, access_token: str) -> tuple[str, Profile] | None:
        return self.auth.authenticate(access_token)

    def require(self, profile: Profile, *, create: bool = False) -> None:
        self.auth.require(profile, create=create)

    def count_call(self, state: CaspioState, n: int = 1, *, refuse: bool = True) -> None:
        count_call(state, n, refuse=refuse)
        self.changed(state, "meter")

    def create_table(
        self, state: CaspioState, name: str, fields: list[dict[str, Any]], note: str = ""
    ) -> Table:
        table = self.schema.create_table(state, name, fields, note)
        self.table_changed(state, table)
        return table

    def add_field(self, state: CaspioState, table: Table, spec: Any) -> dict[str, Any]:
        added = self.schema.add_field(state, table, spec)
        self.table_changed(state, table)
        return added

    def update_field(
        self, state: CaspioState, table: Table, name: str, spec: Any, *, v2: bool = False
    ) -> None:
        self.schema.update_field(state, table, name, spec, v2=v2)
        self.table_changed(state, table, rows=True)  # a rename renames a key of every row

    def delete_field(self, state: CaspioState, table: Table, name: str) -> None:
        self.schema.delete_field(state, table, name)
        self.table_changed(state, table)  # rows keep the old column until rewritten: ignored

    def select_rows(self, state: CaspioState, table: Table, q: dict[str, Any]) -> dict[str, Any]:
        return self.records.select(state, table, q)

    def insert(
        self, tenant: str, state: CaspioState, table: Table, body: Any, source: str = "RESTAPIs"
    ) -> dict[str, Any]:
        row = self.records.insert(tenant, state, table, body, source)
        self.rows_changed(state, table, [row["PK_ID"]])
        return row

    def update(
        self, tenant: str, state: CaspioState, table: Table, where: str | None, body: Any
    ) -> list[dict[str, Any]]:
        after = self.records.update(tenant, state, table, where, body)
        self.rows_changed(state, table, [r["PK_ID"] for r in after])
        return after

    def delete(self, tenant: str, state: CaspioState, table: Table, where: str | None) -> int:
        return self.records.delete(tenant, state, table, where)


def _file_name(tenant: str) -> str:
    """A tenant name as a safe file name (tenants come from a header)."""
    return (
        re.sub(r"[^A-Za-z0-9_-]", "_", tenant)[:64]
        + "-"
        + uuid.uuid5(uuid.NAMESPACE_URL, tenant).hex[:8]
    )
