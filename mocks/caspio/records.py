"""Records: select, insert, update and delete rows of a table, and set or reset password
values ([C] caspio.md §3, §5); values.py converts the API's JSON values to stored ones.

``q.where`` and the other query clauses are translated by sql.py; this module runs them on the
tenant's database and fires the table webhooks for each change (webhooks.py)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import uuid
from typing import TYPE_CHECKING, Any

from .errors import BadBody, BadQuery, FieldNotFound, SqlError
from .schema import AUTO_TYPES
from .sqltext import SqlRefused, quote
from .state import CaspioState, Table, iso, sql_message, transaction
from .values import convert, where_value

if TYPE_CHECKING:
    from .models import CaspioBackend
    from .sql import Translator


class Records:
    """The records API of one backend: reads run the translated query, writes validate and
    convert the whole body first (nothing is written on error), then change the rows and fire
    the table webhooks."""

    def __init__(self, backend: CaspioBackend) -> None:
        self.backend = backend

    def translator(self, table: Table) -> Translator:
        from .sql import Translator  # sqlglot loads with the first query clause

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
        fields = table.by_name()
        missing = [k for k in body if k.lower() not in fields and k.upper() != "PK_ID"]
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
            f = fields[key.lower()]
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
                self.backend.rows_changed(state, table, ids)  # with a data dir (storage.py)
        self.backend.messages.fire(
            tenant, state, table, "table.recordDelete", [(r, None) for r in before]
        )
        return len(ids)

    # what the other parts (passwords.py) use: the required q.where, and the rows it matches
    where_sql = _where
    fetch = _fetch


def insert_row(state: CaspioState, table: Table, row: dict[str, Any]) -> None:
    """Insert stored values as they are (no validation, no automatic values, no webhooks)."""
    cols = list(row)
    state.db.execute(
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in cols)}) "
        f"VALUES ({', '.join('?' for _ in cols)})",
        [row[c] for c in cols],
    )
