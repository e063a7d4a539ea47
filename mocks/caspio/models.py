"""Caspio state and rules: web services profiles, OAuth tokens, tables (each a real SQLite
table in the tenant's own database), records, outgoing webhooks and the integration-call meter.

Every rule cites the fact in /work/shared/vendors/caspio.md it implements.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from careflow.mocks.kernel import Backend, Synthetic

from .errors import BadBody, BadQuery, FieldNotFound, NoPrivileges, NotFound, OverQuota, SqlError
from .sql import SqlRefused, Translator, quote

ACCESS_TTL = 86399  # [C] §2: expires_in 86399 (24 h)
REFRESH_TTL = timedelta(days=365)  # [C] §2: refresh token valid 1 year
DEFAULT_ALLOWANCE = 500_000  # [O] §7: one plan's 500,000 integration calls per period
PLAN_MAX_THROTTLING = 100  # [?] §8.1 plan maximum CallThrottling: the fake's choice
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# [C] §4.2 type tokens. SQLite affinity and whether the records API may write them.
TYPES: dict[str, str] = {
    "STRING": "TEXT COLLATE NOCASE",
    "TEXT": "TEXT COLLATE NOCASE",
    "NUMBER": "REAL",
    "INTEGER": "INTEGER",
    "CURRENCY": "REAL",
    "DATE/TIME": "TEXT",
    "YES/NO": "INTEGER",
    "FILE": "TEXT",
    "PASSWORD": "TEXT",
    "LIST-STRING": "TEXT",
    "LIST-NUMBER": "TEXT",
    "LIST-DATE/TIME": "TEXT",
    "AUTONUMBER": "INTEGER",
    "PREFIXED AUTONUMBER": "TEXT",
    "GUID": "TEXT",
    "RANDOM ID": "TEXT",
    "TIMESTAMP": "TEXT",
}
AUTO_TYPES = {"AUTONUMBER", "PREFIXED AUTONUMBER", "GUID", "RANDOM ID", "TIMESTAMP"}
UNIQUE_REQUIRED = {"AUTONUMBER", "PREFIXED AUTONUMBER", "GUID", "RANDOM ID"}  # [C] §4.1
EVENT_TYPES = {"table.recordInsert", "table.recordUpdate", "table.recordDelete"}  # [C] §8.1
EVENT_SOURCES = {
    "Datasheet",
    "DataPages",
    "RESTAPIs",
    "TriggeredActions",
    "Tasks",
    "DataParts",
    "Extensions",
}
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


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
        self.meter: dict[str, Any] = {
            "used": 0,
            "allowance": DEFAULT_ALLOWANCE,
            "overage": 0,
            "over_quota": "record",
        }
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
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One SQLite transaction: all of it or none; an SQLite error is Caspio's SqlServerError."""
    try:
        db.execute("BEGIN")
        yield
        db.execute("COMMIT")
    except sqlite3.Error as exc:
        db.execute("ROLLBACK")
        raise SqlError(_sql_message(exc)) from None


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
        state = CaspioState(data.get("account_id", "sbx" + tenant))
        state.counter = int(data.get("counter", 0))
        for p in data.get("profiles", []):
            state.profiles[p["name"]] = Profile(**p)
        state.tokens = dict(data.get("tokens", {}))
        state.refresh = dict(data.get("refresh", {}))
        state.webhooks = dict(data.get("webhooks", {}))
        state.meter.update(data.get("meter", {}))
        for name, t in data.get("tables", {}).items():
            self.create_table(state, name, list(t.get("fields", [])), note=t.get("note", ""))
            for row in t.get("rows", []):
                cols = list(row)
                state.db.execute(
                    f"INSERT INTO {quote(name)} ({', '.join(quote(c) for c in cols)}) "
                    f"VALUES ({', '.join('?' for _ in cols)})",
                    [row[c] for c in cols],
                )
        return state

    # persistence: one SQLite file per tenant under data_dir, plus the metadata as JSON ---------
    def save(self, data_dir: Path) -> None:
        folder = data_dir / self.service
        folder.mkdir(parents=True, exist_ok=True)
        meta: dict[str, Any] = {}
        for tenant, state in list(self._states.items()):
            with state.lock:
                data = self.dump_state(state)
                for table in data["tables"].values():
                    table.pop("rows")
                meta[tenant] = data
                target = sqlite3.connect(folder / f"{_file_name(tenant)}.sqlite3")
                try:
                    state.db.backup(target)
                finally:
                    target.close()
        tmp = data_dir / f"{self.service}.json.tmp"
        tmp.write_text(json.dumps(meta, default=str))
        tmp.replace(data_dir / f"{self.service}.json")

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
        # ([?] §7): the sandbox calls it TooManyRequests.
        codes = {
            401: "Unauthorized",
            403: "IpForbidden",
            404: "ObjectNotFound",
            405: "ObjectNotFound",
            429: "TooManyRequests",
        }
        return envelope(codes.get(status, "InternalError"), message, resource)

    # profiles and OAuth ------------------------------------------------------------------------
    def add_profile(
        self, tenant: str, name: str, *, all_objects: bool = True, can_create: bool = True
    ) -> Profile:
        state = self.state(tenant)
        with state.lock:
            if name in state.profiles:
                raise BadBody(f"A profile named '{name}' already exists.")
            syn = self.synthetic_for(tenant)
            n = state.next_id()
            profile = Profile(
                name,
                client_id=syn.token(f"client-id-{n}"),
                client_secret=syn.token(f"client-secret-{n}", length=48),
                all_objects=all_objects,
                can_create=can_create,
            )
            state.profiles[name] = profile
            self.bind_credential(profile.client_id, tenant)
            return profile

    def delete_profile(self, tenant: str, name: str) -> bool:
        """Deleting a profile invalidates its tokens (its webhooks stay: orphans)."""
        state = self.state(tenant)
        with state.lock:
            profile = state.profiles.pop(name, None)
            if profile is None:
                return False
            self.unbind_credential(profile.client_id)
            for store in (state.tokens, state.refresh):
                for tok in [t for t, v in store.items() if v["profile"] == name]:
                    del store[tok]
                    self.unbind_credential(tok)
            return True

    def issue_token(self, tenant: str, profile: Profile) -> dict[str, Any]:
        state = self.state(tenant)
        syn = self.synthetic_for(tenant)
        with state.lock:
            n = state.next_id()
            access = syn.token(f"access-{n}", length=160)
            # [O] §2: 64 hex characters; derived from the seeded generator (reproducible)
            refresh = hashlib.sha256(syn.token(f"refresh-{n}", length=48).encode()).hexdigest()
            now = self.kernel.clock.now()
            state.tokens[access] = {
                "profile": profile.name,
                "expires": (now + timedelta(seconds=ACCESS_TTL)).isoformat(),
            }
            state.refresh[refresh] = {
                "profile": profile.name,
                "expires": (now + REFRESH_TTL).isoformat(),
            }
            self.bind_credential(access, tenant)
        return {
            "access_token": access,
            "token_type": "bearer",  # [C] §2 lowercase
            "expires_in": ACCESS_TTL,
            "refresh_token": refresh,
        }

    def profile_for_client(self, client_id: str, secret: str) -> tuple[str, Profile] | None:
        tenant = self.tenant_for(client_id)
        if tenant is None:
            return None
        for p in self.state(tenant).profiles.values():
            if p.client_id == client_id and p.client_secret == secret:
                return tenant, p
        return None

    def use_refresh(self, token: str, client_id: str | None) -> tuple[str, Profile] | None:
        for tenant in self.tenants():
            state = self.state(tenant)
            grant = state.refresh.get(token)
            if grant is None:
                continue
            profile = state.profiles.get(grant["profile"])
            if (
                profile is None
                or datetime.fromisoformat(grant["expires"]) <= self.kernel.clock.now()
            ):
                return None
            if client_id and client_id != profile.client_id:
                return None
            del state.refresh[token]  # [I] §2: a refresh issues a new refresh token
            return tenant, profile
        return None

    def authenticate(self, access_token: str) -> tuple[str, Profile] | None:
        """The tenant and profile of a live bearer token, else None (→ 401)."""
        tenant = self.tenant_for(access_token)
        if tenant is None:
            return None
        state = self.state(tenant)
        grant = state.tokens.get(access_token)
        if grant is None:
            return None
        if datetime.fromisoformat(grant["expires"]) <= self.kernel.clock.now():
            return None  # [C] §2: after expiry 401
        profile = state.profiles.get(grant["profile"])
        if profile is None:
            return None
        return tenant, profile

    # meter --------------------------------------------------------------------------------------
    def count_call(self, state: CaspioState, n: int = 1, *, refuse: bool = True) -> None:
        """[C] §7/§10: REST calls and webhook messages share the Integrations meter. Over the
        allowance: ``record`` adds overage (the observed invoice, not a block) or ``error``
        answers the observed 400 api-calls-rate body (configurable, [?] §7).

        A REST call is charged once, before it does anything, so a refused call changes
        nothing. Webhook messages (``refuse=False``) follow a change already made: they are
        always sent and past the allowance only add overage ([I] §7)."""
        with state.lock:
            meter = state.meter
            if meter["used"] + n > meter["allowance"]:
                if refuse and meter["over_quota"] == "error":
                    raise OverQuota("api-calls-rate")
                meter["overage"] += min(n, meter["used"] + n - meter["allowance"])
            meter["used"] += n

    # tables and fields ----------------------------------------------------------------------------
    def create_table(
        self, state: CaspioState, name: str, fields: list[dict[str, Any]], note: str = ""
    ) -> Table:
        # [I] names SQLite reserves (sqlite_master, sqlite_sequence, ...) are refused like any
        # other malformed name: the fake's storage must stay out of the API's reach.
        if not isinstance(name, str) or not NAME.match(name) or name.lower().startswith("sqlite_"):
            raise BadBody("Table name is missing or has an incorrect format.")
        with state.lock:
            if name.lower() in state.tables:
                raise BadBody(f"Table '{name}' already exists.")
            table = Table(name, note)
            for spec in fields:
                table.fields.append(self._field_object(table, spec))
            cols = ['"PK_ID" INTEGER PRIMARY KEY AUTOINCREMENT'] + [
                self._column_sql(f) for f in table.fields
            ]
            with _transaction(state.db):
                state.db.execute(f"CREATE TABLE {quote(name)} ({', '.join(cols)})")
                for f in table.fields:
                    if f["Unique"]:
                        self._unique_index(state, table, f["Name"])
            state.tables[name.lower()] = table
            return table

    def _field_object(self, table: Table, spec: Any) -> dict[str, Any]:
        """[C] §4.1 field object from a FieldModel body; validation rules of §4.1."""
        if not isinstance(spec, dict):
            raise BadBody("Field definition has an incorrect format.")
        name, ftype = spec.get("Name"), spec.get("Type")
        if not isinstance(name, str) or not NAME.match(name) or name.upper() == "PK_ID":
            raise BadBody("Field Name is missing or has an incorrect format.")
        if not isinstance(ftype, str) or ftype.upper() not in TYPES:
            raise BadBody(f"Field Type '{ftype}' is not supported.")
        ftype = ftype.upper()
        if table.field(name):
            raise BadBody(f"Field '{name}' already exists.")
        unique = spec.get("Unique", False)
        if not isinstance(unique, bool):
            raise BadBody("Unique must be a boolean.")
        if ftype in UNIQUE_REQUIRED and not unique:
            raise BadBody(f"Field '{name}' of type {ftype} must be created with Unique: true.")
        label, desc = spec.get("Label") or "", spec.get("Description") or ""
        if not isinstance(label, str) or len(label) > 255:
            raise BadBody("Label must be a string of at most 255 characters.")
        if not isinstance(desc, str) or len(desc) > 4000:
            raise BadBody("Description must be a string of at most 4000 characters.")
        obj: dict[str, Any] = {
            "Name": name,
            "TableFieldName": None,
            "Type": ftype,
            "Unique": unique,
            "Editable": ftype not in AUTO_TYPES,
            "Description": desc,
            "DisplayOrder": len(table.fields) + 1,
            "Label": label,
            "UniqueAllowNulls": bool(spec.get("UniqueAllowNulls", False)),
            "IsFormula": False,
        }
        if ftype == "TIMESTAMP":  # [C] §4.1 TIMESTAMP-only properties
            obj.update(
                OnInsert=bool(spec.get("OnInsert", False)),
                OnUpdate=bool(spec.get("OnUpdate", False)),
                TimeZone=spec.get("TimeZone") or "UTC",
            )
        if ftype.startswith("LIST-"):
            items = spec.get("ListField") or []
            if isinstance(items, dict):
                obj["ListField"] = {str(k): v for k, v in items.items()}
            elif isinstance(items, list) and all(isinstance(i, str | int | float) for i in items):
                obj["ListField"] = {str(i + 1): v for i, v in enumerate(items)}
            else:
                raise BadBody("ListField must be an array of values.")
        return obj

    @staticmethod
    def _column_sql(f: dict[str, Any]) -> str:
        # Unique is a separate index (``_unique_index``), never a column constraint, so the
        # column can later be renamed or dropped.
        return f"{quote(f['Name'])} {TYPES[f['Type']]}"

    @staticmethod
    def _unique_index(state: CaspioState, table: Table, column: str) -> None:
        index = f"ux:{table.name.lower()}:{column.lower()}"  # ':' is never in a Caspio name
        state.db.execute(
            f"CREATE UNIQUE INDEX {quote(index)} ON {quote(table.name)} ({quote(column)})"
        )

    @staticmethod
    def _drop_indexes(state: CaspioState, table: Table, column: str) -> None:
        """Drop the (unique) indexes that cover ``column``."""
        t = quote(table.name)
        for row in state.db.execute(f"PRAGMA index_list({t})").fetchall():
            index = row[1]
            cols = state.db.execute(f"PRAGMA index_info({quote(index)})").fetchall()
            if any(str(c[2]).lower() == column.lower() for c in cols):
                state.db.execute(f"DROP INDEX {quote(index)}")

    def add_field(self, state: CaspioState, table: Table, spec: Any) -> dict[str, Any]:
        with state.lock:
            obj = self._field_object(table, spec)
            with _transaction(state.db):
                state.db.execute(
                    f"ALTER TABLE {quote(table.name)} ADD COLUMN {self._column_sql(obj)}"
                )
                if obj["Unique"]:
                    self._unique_index(state, table, obj["Name"])
            table.fields.append(obj)
            return obj

    def update_field(self, state: CaspioState, table: Table, name: str, spec: Any) -> None:
        """[C] §3: v3 UpdateFieldModel uses plain names (Name, Label, Description, ...)."""
        f = table.field(name)
        if f is None:
            raise NotFound("Requested object not found")
        if not isinstance(spec, dict) or not spec:
            raise BadBody("Required body parameter absent or has incorrect format")
        spec = {k.removeprefix("New"): v for k, v in spec.items()}  # v2 NewName, NewType, ...
        with state.lock:
            if "Type" in spec and str(spec["Type"]).upper() != f["Type"]:
                raise BadBody("Changing a field's Type is not supported by the sandbox.")
            for key in ("Label", "Description"):
                if key in spec:
                    limit = 255 if key == "Label" else 4000
                    if not isinstance(spec[key], str) or len(spec[key]) > limit:
                        raise BadBody(f"{key} has an incorrect format.")
            new = spec.get("Name")
            if new is not None and new != f["Name"]:
                if not isinstance(new, str) or not NAME.match(new) or new.upper() == "PK_ID":
                    raise BadBody("Field Name has an incorrect format.")
                other = table.field(new)
                if other is not None and other is not f:  # a change of case only is allowed
                    raise BadBody(f"Field '{new}' already exists.")
                if f["Unique"]:
                    self._drop_indexes(state, table, f["Name"])
                state.db.execute(
                    f"ALTER TABLE {quote(table.name)} "
                    f"RENAME COLUMN {quote(f['Name'])} TO {quote(new)}"
                )
                if f["Unique"]:
                    self._unique_index(state, table, new)
                f["Name"] = new
            for key in ("Label", "Description"):
                if key in spec:
                    f[key] = spec[key]

    def delete_field(self, state: CaspioState, table: Table, name: str) -> None:
        f = table.field(name)
        if f is None:
            raise NotFound("Requested object not found")
        with state.lock:
            with _transaction(state.db):
                self._drop_indexes(state, table, f["Name"])
                state.db.execute(f"ALTER TABLE {quote(table.name)} DROP COLUMN {quote(f['Name'])}")
            table.fields.remove(f)
            for i, other in enumerate(table.fields, 1):
                other["DisplayOrder"] = i

    # records ----------------------------------------------------------------------------------
    def translator(self, table: Table) -> Translator:
        return Translator(
            table.columns(),
            forbidden=table.passwords(),
            now=lambda: iso(self.kernel.clock.now()),
            coerce=lambda column, value: _where_value(table, column, value),
        )

    def select_rows(self, state: CaspioState, table: Table, q: dict[str, Any]) -> dict[str, Any]:
        """[C] §5.1 GET records: select/where/groupBy/orderBy/limit/pagination."""
        tr = self.translator(table)
        params: list[Any] = []
        try:
            star = self._star_columns(table)
            text = q.get("select") or "*"
            sel, names = tr.select(text, star=star, group=q.get("groupBy"))
            select_sql = sel.sql
            params += sel.params
            aliases = frozenset(n.lower() for n in names if n not in star)
            sql = f"SELECT {select_sql} FROM {quote(table.name)}"
            count_params: list[Any] = []
            where_sql = ""
            if q.get("where"):
                w = tr.where(q["where"])
                where_sql, count_params = f" WHERE {w.sql}", w.params
            sql += where_sql
            params += count_params
            group_sql = ""
            if q.get("groupBy"):
                g = tr.group_by(q["groupBy"])
                group_sql = f" GROUP BY {g.sql}"
                params += g.params
            sql += group_sql
            if q.get("orderBy"):
                o = tr.order_by(q["orderBy"], aliases=aliases, width=len(names))
                sql += f" ORDER BY {o.sql}"
                params += o.params
            elif not q.get("groupBy"):
                sql += ' ORDER BY "PK_ID"'  # [I] §5.1: the fake orders by PK_ID
        except SqlRefused as exc:
            raise SqlError(str(exc)) from None
        page = q.get("page")
        if page is not None:
            number, size = page
            sql += f" LIMIT {int(size)} OFFSET {int((number - 1) * size)}"
        else:
            sql += f" LIMIT {int(q.get('limit', 100))}"
        with state.lock:
            try:
                cur = state.db.execute(sql, params)
                names = [d[0] for d in cur.description]
                rows = self._outs(table, [dict(zip(names, r, strict=True)) for r in cur.fetchall()])
                total = None
                if q.get("pagination"):
                    inner = f"SELECT 1 FROM {quote(table.name)}{where_sql}{group_sql}"
                    total = state.db.execute(
                        f"SELECT count(*) FROM ({inner})",
                        count_params + (g.params if group_sql else []),
                    ).fetchone()[0]
            except (sqlite3.Error, OverflowError) as exc:
                raise SqlError(_sql_message(exc)) from None
        out: dict[str, Any] = {"Result": rows}
        if q.get("pagination"):
            number, size = page or (1, q.get("limit", 100))
            out["Pagination"] = {"TotalCount": total, "PageNumber": number, "PageSize": size}
        return out

    @staticmethod
    def _star_columns(table: Table) -> list[str]:
        """[C] §5.6: ``*`` skips password fields; PK_ID always included."""
        return ["PK_ID"] + [f["Name"] for f in table.fields if f["Type"] != "PASSWORD"]

    @classmethod
    def _star(cls, table: Table) -> str:
        return ", ".join(quote(c) for c in cls._star_columns(table))

    @staticmethod
    def _out(table: Table, row: dict[str, Any]) -> dict[str, Any]:
        return CaspioBackend._outs(table, [row])[0]

    @staticmethod
    def _outs(table: Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """[C] §5.5 read formats: YES/NO as JSON booleans, LIST-* as {id: value}."""
        if not rows:
            return rows
        kinds = {f["Name"]: f["Type"] for f in table.fields}
        bools = [k for k in rows[0] if kinds.get(k) == "YES/NO"]
        lists = [k for k in rows[0] if kinds.get(k, "").startswith("LIST-")]
        if not bools and not lists:
            return rows
        for row in rows:
            for k in bools:
                if row[k] is not None:
                    row[k] = bool(row[k])
            for k in lists:
                if row[k] is not None:
                    with contextlib.suppress(TypeError, ValueError):
                        row[k] = json.loads(row[k])
        return rows

    def _where(self, table: Table, where: str | None) -> tuple[str, list[Any]]:
        if not where or not where.strip():
            # [C] §5.3/§5.4 q.where required; [I] mapping → IncorrectQueryParameter
            raise BadQuery("Required query parameter absent or has incorrect format: q.where")
        try:
            w = self.translator(table).where(where)
        except SqlRefused as exc:
            raise SqlError(str(exc)) from None
        return w.sql, w.params

    def _values(
        self, state: CaspioState, table: Table, body: Any, *, insert: bool
    ) -> dict[str, Any]:
        """Validate and convert a record body ([C] §5.2/§5.5); nothing is written on error."""
        if not isinstance(body, dict):
            raise BadBody("Required body parameter absent or has incorrect format")
        missing = [k for k in body if table.field(k) is None and k.upper() != "PK_ID"]
        if missing:
            raise FieldNotFound(
                "Cannot perform operation because the following field(s) do not exist: "
                + ", ".join(f"'{m}'" for m in missing)
            )
        out: dict[str, Any] = {}
        bad: list[str] = []
        for key, value in body.items():
            if key.upper() == "PK_ID":
                raise BadBody("PK_ID cannot be changed.")  # [C] §5.6
            f = table.field(key)
            assert f is not None
            ftype = f["Type"]
            if ftype in AUTO_TYPES or f["IsFormula"]:
                raise BadBody(f"Field '{f['Name']}' is read-only.")
            if ftype == "PASSWORD" and not insert:
                raise BadBody("Password fields cannot be changed by this call.")  # [C] §5.6
            try:
                out[f["Name"]] = _convert(f, value)
            except (ValueError, TypeError):
                bad.append(f["Name"])
        if bad:
            raise BadBody(
                "Cannot perform operation because the value doesn't match the data type of the "
                "following field(s): " + ", ".join(bad)
            )
        return out

    def _auto(
        self, state: CaspioState, table: Table, values: dict[str, Any], *, insert: bool
    ) -> None:
        now = iso(self.kernel.clock.now())
        for f in table.fields:
            t, name = f["Type"], f["Name"]
            if t == "TIMESTAMP" and (f.get("OnInsert") if insert else f.get("OnUpdate")):
                values[name] = now
            if not insert:
                continue
            if t in ("AUTONUMBER", "PREFIXED AUTONUMBER"):
                # the next PK_ID (AUTOINCREMENT never reuses a number)
                seq = state.db.execute(
                    "SELECT seq FROM sqlite_sequence WHERE name = ?", (table.name,)
                ).fetchone()
                n = (seq[0] if seq else 0) + 1
                values[name] = n if t == "AUTONUMBER" else f"{f.get('Prefix') or ''}{n:07d}"
            elif t == "GUID":
                values[name] = str(
                    uuid.uuid5(uuid.NAMESPACE_URL, f"{state.account_id}/{state.next_id()}")
                ).upper()
            elif t == "RANDOM ID":
                values[name] = state.next_id().upper().rjust(12, "0")[-12:]

    def _fetch(
        self, state: CaspioState, table: Table, where: str, params: list[Any]
    ) -> list[dict[str, Any]]:
        try:
            cur = state.db.execute(
                f"SELECT {self._star(table)} FROM {quote(table.name)} WHERE {where} ORDER BY PK_ID",
                params,
            )
        except (sqlite3.Error, OverflowError) as exc:
            raise SqlError(_sql_message(exc)) from None
        names = [d[0] for d in cur.description]
        return self._outs(table, [dict(zip(names, r, strict=True)) for r in cur.fetchall()])

    def insert(
        self, tenant: str, state: CaspioState, table: Table, body: Any, source: str = "RESTAPIs"
    ) -> dict[str, Any]:
        if isinstance(body, list):
            raise BadBody("Required body parameter absent or has incorrect format")  # [O] §5.2
        values = self._values(state, table, body, insert=True)
        with state.lock:
            self._auto(state, table, values, insert=True)
            cols = list(values)
            try:
                if cols:
                    cur = state.db.execute(
                        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in cols)}) "
                        f"VALUES ({', '.join('?' for _ in cols)})",
                        [values[c] for c in cols],
                    )
                else:
                    cur = state.db.execute(f"INSERT INTO {quote(table.name)} DEFAULT VALUES")
            except sqlite3.Error as exc:
                raise SqlError(_sql_message(exc)) from None
            row = self._fetch(state, table, '"PK_ID" = ?', [cur.lastrowid])[0]
        self.hooks.fire(tenant, state, table, "table.recordInsert", [(None, row)], source)
        return row

    def update(
        self, tenant: str, state: CaspioState, table: Table, where: str | None, body: Any
    ) -> list[dict[str, Any]]:
        wsql, params = self._where(table, where)
        values = self._values(state, table, body, insert=False)
        if not values:
            raise BadBody("Required body parameter absent or has incorrect format")
        with state.lock:
            before = self._fetch(state, table, wsql, params)
            if not before:
                return []
            self._auto(state, table, values, insert=False)
            ids = [r["PK_ID"] for r in before]
            marks = ", ".join("?" for _ in ids)
            sets = ", ".join(f"{quote(c)} = ?" for c in values)
            with _transaction(state.db):
                state.db.execute(
                    f"UPDATE {quote(table.name)} SET {sets} WHERE PK_ID IN ({marks})",
                    [*values.values(), *ids],
                )
            after = self._fetch(state, table, f"PK_ID IN ({marks})", ids)
        self.hooks.fire(
            tenant, state, table, "table.recordUpdate", list(zip(before, after, strict=True))
        )
        return after

    def delete(self, tenant: str, state: CaspioState, table: Table, where: str | None) -> int:
        wsql, params = self._where(table, where)
        with state.lock:
            before = self._fetch(state, table, wsql, params)
            ids = [r["PK_ID"] for r in before]
            if ids:
                marks = ", ".join("?" for _ in ids)
                state.db.execute(f"DELETE FROM {quote(table.name)} WHERE PK_ID IN ({marks})", ids)
        self.hooks.fire(tenant, state, table, "table.recordDelete", [(r, None) for r in before])
        return len(ids)

    @property
    def hooks(self) -> Any:
        from .webhooks import Webhooks

        if not hasattr(self, "_hooks"):
            self._hooks = Webhooks(self)
        return self._hooks

    def require(self, profile: Profile, *, create: bool = False) -> None:
        """[C] §10: the profile's two permissions gate object access and creation."""
        if not profile.all_objects:
            raise NoPrivileges("Not enough privileges to perform requested operation")
        if create and not profile.can_create:
            raise NoPrivileges("Not enough privileges to perform requested operation")


def _file_name(tenant: str) -> str:
    """A tenant name as a safe file name (tenants come from a header)."""
    return (
        re.sub(r"[^A-Za-z0-9_-]", "_", tenant)[:64]
        + "-"
        + uuid.uuid5(uuid.NAMESPACE_URL, tenant).hex[:8]
    )


DATE_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?)?(Z|[+-]\d{2}:?\d{2})?$"
)


DATE_TYPES = ("DATE/TIME", "TIMESTAMP")


def _parse_date(value: Any) -> datetime:
    """[C] §5.5 an ISO date or date-time (``'YYYY-MM-DD'`` too); ValueError otherwise."""
    if not isinstance(value, str) or not DATE_RE.match(value):
        raise ValueError(value)
    return datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "T"))


def _where_value(table: Table, column: str, value: Any) -> Any:
    """A string compared with ``column`` in q.where, as the stored value: [C] §5.5 "'YYYY-MM-DD'
    accepted in where" for DATE/TIME (and TIMESTAMP) fields, whose values are stored as
    ``YYYY-MM-DDTHH:MM:SS``; a bad date is SQL Server's conversion error (241)."""
    f = table.field(column)
    if f is None or f["Type"] not in DATE_TYPES or not isinstance(value, str):
        return value
    try:
        dt = _parse_date(value.strip())
    except ValueError:
        raise SqlRefused(
            "Conversion failed when converting date and/or time from character string."
        ) from None
    return iso(dt) + (f".{dt.microsecond:06d}".rstrip("0") if dt.microsecond else "")


def _convert(f: dict[str, Any], value: Any) -> Any:
    """[C] §5.5 write formats → the stored SQLite value; ValueError when it does not fit."""
    t = f["Type"]
    if value is None:
        return None
    if t in ("STRING", "TEXT", "FILE", "PASSWORD"):
        if not isinstance(value, str) or (t == "STRING" and len(value) > 255):
            raise ValueError
        return value
    if t in ("NUMBER", "CURRENCY"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError
        return float(value)
    if t == "INTEGER":
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            raise ValueError  # [O] §5.5 INTEGER rejects fractions
        if abs(int(value)) >= 1 << 63:
            raise ValueError
        return int(value)
    if t == "YES/NO":
        if not isinstance(value, bool):
            raise ValueError
        return int(value)
    if t == "DATE/TIME":
        return iso(_parse_date(value))
    if t.startswith("LIST-"):
        items = f.get("ListField") or {}
        if isinstance(value, str):
            ids = [s.strip().strip("[]") for s in value.split(",") if s.strip()]
        elif isinstance(value, list):
            ids = [str(v) for v in value]
        else:
            raise ValueError
        if any(i not in items for i in ids):
            raise ValueError
        return json.dumps({i: items[i] for i in ids})
    raise ValueError


def _sql_message(exc: Exception) -> str:
    text = str(exc)
    if "UNIQUE" in text:
        return "Cannot insert duplicate key: a unique field already has this value."
    return f"Query failed: {text}"
