"""Records: select, insert, update and delete rows of a table, and the conversion of values
between the API's JSON and the stored SQLite values ([C] caspio.md §5).

``q.where`` and the other query clauses are translated by sql.py; this module runs them on the
tenant's database and fires the table webhooks for each change (webhooks.py)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import math
import re
import secrets
import sqlite3
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .errors import BadBody, BadQuery, FieldNotFound, NotFound, SqlError
from .schema import AUTO_TYPES
from .sql import SqlRefused, Translator, quote
from .state import CaspioState, Table, iso, sql_message, transaction

if TYPE_CHECKING:
    from .models import CaspioBackend

DATE_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?)?(Z|[+-]\d{2}:?\d{2})?$"
)
DATE_TYPES = ("DATE/TIME", "TIMESTAMP")


class Records:
    """The records API of one backend: reads run the translated query, writes validate and
    convert the whole body first (nothing is written on error), then change the rows and fire
    the table webhooks."""

    def __init__(self, backend: CaspioBackend) -> None:
        self.backend = backend

    def translator(self, table: Table) -> Translator:
        return Translator(
            table.columns(),
            forbidden=table.passwords(),
            now=lambda: iso(self.backend.kernel.clock.now()),
            coerce=lambda column, value: where_value(table, column, value),
        )

    def select(self, state: CaspioState, table: Table, q: dict[str, Any]) -> dict[str, Any]:
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
                raise SqlError(sql_message(exc)) from None
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

    def values(
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
                out[f["Name"]] = convert(f, value)
            except (ValueError, TypeError):
                bad.append(f["Name"])
        if bad:
            raise BadBody(
                "Cannot perform operation because the value doesn't match the data type of the "
                "following field(s): " + ", ".join(bad)
            )
        return out

    def auto(
        self, state: CaspioState, table: Table, values: dict[str, Any], *, insert: bool
    ) -> None:
        now = iso(self.backend.kernel.clock.now())
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
            raise SqlError(sql_message(exc)) from None
        names = [d[0] for d in cur.description]
        return self._outs(table, [dict(zip(names, r, strict=True)) for r in cur.fetchall()])

    def insert(
        self, tenant: str, state: CaspioState, table: Table, body: Any, source: str = "RESTAPIs"
    ) -> dict[str, Any]:
        if isinstance(body, list):
            raise BadBody("Required body parameter absent or has incorrect format")  # [O] §5.2
        values = self.values(state, table, body, insert=True)
        with state.lock:
            self.auto(state, table, values, insert=True)
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
                raise SqlError(sql_message(exc)) from None
            row = self._fetch(state, table, '"PK_ID" = ?', [cur.lastrowid])[0]
        self.backend.messages.fire(
            tenant, state, table, "table.recordInsert", [(None, row)], source
        )
        return row

    def insert_unannounced(self, state: CaspioState, table: Table, body: Any) -> None:
        """Insert a row as :meth:`insert` does, but fire no webhook: the rows a tenant is
        seeded with exist before any webhook could have been created."""
        values = self.values(state, table, body, insert=True)
        with state.lock:
            self.auto(state, table, values, insert=True)
            insert_row(state, table, values)

    def update(
        self, tenant: str, state: CaspioState, table: Table, where: str | None, body: Any
    ) -> list[dict[str, Any]]:
        wsql, params = self._where(table, where)
        values = self.values(state, table, body, insert=False)
        if not values:
            raise BadBody("Required body parameter absent or has incorrect format")
        with state.lock:
            before = self._fetch(state, table, wsql, params)
            if not before:
                return []
            self.auto(state, table, values, insert=False)
            ids = [r["PK_ID"] for r in before]
            marks = ", ".join("?" for _ in ids)
            sets = ", ".join(f"{quote(c)} = ?" for c in values)
            with transaction(state.db):
                state.db.execute(
                    f"UPDATE {quote(table.name)} SET {sets} WHERE PK_ID IN ({marks})",
                    [*values.values(), *ids],
                )
            after = self._fetch(state, table, f"PK_ID IN ({marks})", ids)
        self.backend.messages.fire(
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
        self.backend.messages.fire(
            tenant, state, table, "table.recordDelete", [(r, None) for r in before]
        )
        return len(ids)

    # password fields ([C] §3 passwordFields, §5.6: the only way to set or reset a password) ----
    @staticmethod
    def password_fields(table: Table) -> list[str]:
        """[C] §3 ListPasswordTableFields: the names of the table's PASSWORD fields."""
        return [f["Name"] for f in table.fields if f["Type"] == "PASSWORD"]

    def set_password(
        self, state: CaspioState, table: Table, name: str, where: str | None, body: Any
    ) -> int:
        """[C] §3 UpdatePasswordTableField: ``{"Value": "..."}`` into every matching record;
        answers the count. [?] an empty or missing Value is refused; no webhook message
        (password fields are never in a payload, [C] §8.2)."""
        field = self._password_field(table, name)
        wsql, params = self._where(table, where)
        value = body.get("Value") if isinstance(body, dict) else None
        if not isinstance(value, str) or not value:
            raise BadBody("Required body parameter absent or has incorrect format: Value")
        return self._set_passwords(state, table, field, wsql, params, hash_password(value))

    def reset_password(self, state: CaspioState, table: Table, name: str, where: str | None) -> int:
        """[C] §3 ResetPasswordTableField: the matching records' password becomes empty."""
        field = self._password_field(table, name)
        wsql, params = self._where(table, where)
        return self._set_passwords(state, table, field, wsql, params, None)

    @staticmethod
    def _password_field(table: Table, name: str) -> str:
        f = table.field(name)
        if f is None or f["Type"] != "PASSWORD":
            # [?] a field that is missing or not a password: no such password field → 404
            raise NotFound("Requested object not found")
        return str(f["Name"])

    def _set_passwords(
        self,
        state: CaspioState,
        table: Table,
        field: str,
        wsql: str,
        params: list[Any],
        stored: str | None,
    ) -> int:
        with state.lock:
            ids = [r["PK_ID"] for r in self._fetch(state, table, wsql, params)]
            if ids:
                marks = ", ".join("?" for _ in ids)
                with transaction(state.db):
                    state.db.execute(
                        f"UPDATE {quote(table.name)} SET {quote(field)} = ? "
                        f"WHERE PK_ID IN ({marks})",
                        [stored, *ids],
                    )
        return len(ids)


def insert_row(state: CaspioState, table: Table, row: dict[str, Any]) -> None:
    """Insert stored values as they are (no validation, no automatic values, no webhooks)."""
    cols = list(row)
    state.db.execute(
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in cols)}) "
        f"VALUES ({', '.join('?' for _ in cols)})",
        [row[c] for c in cols],
    )


def parse_date(value: Any) -> datetime:
    """[C] §5.5 an ISO date or date-time (``'YYYY-MM-DD'`` too); ValueError otherwise."""
    if not isinstance(value, str) or not DATE_RE.match(value):
        raise ValueError(value)
    return datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "T"))


def where_value(table: Table, column: str, value: Any) -> Any:
    """A string compared with ``column`` in q.where, as the stored value: [C] §5.5 "'YYYY-MM-DD'
    accepted in where" for DATE/TIME (and TIMESTAMP) fields, whose values are stored as
    ``YYYY-MM-DDTHH:MM:SS``; a bad date is SQL Server's conversion error (241)."""
    f = table.field(column)
    if f is None or f["Type"] not in DATE_TYPES or not isinstance(value, str):
        return value
    try:
        dt = parse_date(value.strip())
    except ValueError:
        raise SqlRefused(
            "Conversion failed when converting date and/or time from character string."
        ) from None
    return iso(dt) + (f".{dt.microsecond:06d}".rstrip("0") if dt.microsecond else "")


def convert(f: dict[str, Any], value: Any) -> Any:
    """[C] §5.5 write formats → the stored SQLite value; ValueError when it does not fit.

    Values are converted the way Caspio converts them (:func:`coerce`): real clients send
    numbers and yes/no values as strings. Pipedream's Caspio "Create Record" action
    (``components/caspio/actions/create-record/create-record.mjs``, source [S6] of caspio.md) types
    every non-YES/NO field as a string prop and turns only NUMBER values back into numbers, so
    INTEGER and CURRENCY values arrive as ``"3"`` / ``"12.5"``; Caspio's own n8n node passes
    user-typed values through as strings as well (issue 17)."""
    t = f["Type"]
    if value is None:
        return None
    if t == "PASSWORD":
        if not isinstance(value, str):
            raise ValueError
        return hash_password(value)  # never stored in clear; never read back ([C] §5.6)
    if t in ("STRING", "TEXT"):
        text = coerce_text(value)
        if t == "STRING" and len(text) > 255:
            raise ValueError
        return text
    if t == "FILE":
        if not isinstance(value, str):
            raise ValueError
        return value
    if t in ("NUMBER", "CURRENCY"):
        return float(coerce_number(value, exponent=t == "NUMBER"))
    if t == "INTEGER":
        number = coerce_number(value, exponent=False, integer=True)
        if number != int(number):
            raise ValueError  # [O] §5.5 INTEGER rejects fractions
        if abs(int(number)) >= 1 << 63:
            raise ValueError
        return int(number)
    if t == "YES/NO":
        return int(coerce_yes_no(value))
    if t == "DATE/TIME":
        return iso(parse_date(value))
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


# A decimal number as text: what SQL Server's varchar → decimal/money conversion takes.
DECIMAL_TEXT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
# NUMBER (float) also takes an exponent, as varchar → float does ('1e3').
FLOAT_TEXT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
INTEGER_TEXT = re.compile(r"^[+-]?\d+$")
YES_NO_TEXT = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False}


def coerce_number(value: Any, *, exponent: bool, integer: bool = False) -> float | int:
    """A JSON number, or a string that converts to one (issue 17 item 1, Pipedream's
    create-record action: ``"Visits": "3"``, ``"Balance": "12.5"``). Surrounding blanks are
    ignored; ``""``, ``"NaN"``, ``"1,000"``, ``"0x10"`` and booleans do not convert
    ([?] caspio.md §5.5: the exact set Caspio converts is undocumented; the fake follows SQL
    Server's text → number conversions: an INTEGER takes digits only, so ``"3.0"`` is
    refused, CURRENCY takes no exponent, NUMBER does)."""
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError
        return value
    if not isinstance(value, str):
        raise ValueError
    text = value.strip()
    pattern = INTEGER_TEXT if integer else FLOAT_TEXT if exponent else DECIMAL_TEXT
    if not pattern.match(text):
        raise ValueError
    if integer:
        return int(text)
    number = float(text)
    if not math.isfinite(number):
        raise ValueError  # "1e999"
    return number


def coerce_yes_no(value: Any) -> bool:
    """A JSON boolean, 1/0, or ``"true"``/``"false"``/``"yes"``/``"no"``/``"1"``/``"0"`` in any
    case (issue 17 item 1: Caspio's n8n node and Pipedream send user-typed yes/no values;
    [?] caspio.md §5.5: other words such as ``"on"`` or ``"Y"`` are refused)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in YES_NO_TEXT:
        return YES_NO_TEXT[value.strip().lower()]
    raise ValueError


def coerce_text(value: Any) -> str:
    """A string, or a number written as text (issue 17 item 1: a number sent for a STRING or
    TEXT field is stored as its text, ``12`` → ``"12"``, ``12.5`` → ``"12.5"``). Booleans,
    lists and objects are refused ([?] caspio.md §5.5: undocumented; the fake is strict)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    return str(value)


def hash_password(value: str) -> str:
    """A password field's value as stored: salted SHA-256, never the clear text (the project's
    rule: secrets never in clear on disk). The API never reads it back ([C] §5.6)."""
    salt = secrets.token_hex(8)
    return f"sha256${salt}${hashlib.sha256((salt + value).encode()).hexdigest()}"


def password_matches(stored: str | None, value: str) -> bool:
    """Whether ``value`` is the password ``stored`` holds (tests and the admin surface)."""
    if not stored or stored.count("$") != 2:
        return False
    _, salt, digest = stored.split("$")
    return hmac.compare_digest(hashlib.sha256((salt + value).encode()).hexdigest(), digest)
