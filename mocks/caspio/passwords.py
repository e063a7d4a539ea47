"""Password fields ([C] caspio.md §3 ``…/tables/{table}/passwordFields``, §5.6): list them, and
set or reset the password of the records a ``q.where`` matches — the only way to change a
password value (a record update cannot). Values are stored hashed (values.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import BadBody, NotFound
from .sqltext import quote
from .state import CaspioState, Table, transaction
from .values import hash_password

if TYPE_CHECKING:
    from .models import CaspioBackend


class Passwords:
    """The passwordFields API of one backend (matching runs through the records part)."""

    def __init__(self, backend: CaspioBackend) -> None:
        self.backend = backend

    @staticmethod
    def fields(table: Table) -> list[str]:
        """[C] §3 ListPasswordTableFields: the names of the table's PASSWORD fields."""
        return [f["Name"] for f in table.fields if f["Type"] == "PASSWORD"]

    def set(self, state: CaspioState, table: Table, name: str, where: str | None, body: Any) -> int:
        """[C] §3 UpdatePasswordTableField: ``{"Value": "..."}`` into every matching record;
        answers the count. [?] an empty or missing Value is refused; no webhook message
        (password fields are never in a payload, [C] §8.2)."""
        field = self._field(table, name)
        wsql, params = self.backend.records.where_sql(table, where)
        value = body.get("Value") if isinstance(body, dict) else None
        if not isinstance(value, str) or not value:
            raise BadBody("Required body parameter absent or has incorrect format: Value")
        return self._store(state, table, field, wsql, params, hash_password(value))

    def reset(self, state: CaspioState, table: Table, name: str, where: str | None) -> int:
        """[C] §3 ResetPasswordTableField: the matching records' password becomes empty."""
        field = self._field(table, name)
        wsql, params = self.backend.records.where_sql(table, where)
        return self._store(state, table, field, wsql, params, None)

    @staticmethod
    def _field(table: Table, name: str) -> str:
        f = table.field(name)
        if f is None or f["Type"] != "PASSWORD":
            # [?] a field that is missing or not a password: no such password field → 404
            raise NotFound("Requested object not found")
        return str(f["Name"])

    def _store(
        self,
        state: CaspioState,
        table: Table,
        field: str,
        wsql: str,
        params: list[Any],
        stored: str | None,
    ) -> int:
        with state.lock:
            rows = self.backend.records.fetch(state, table, wsql, params)
            ids = [r["PK_ID"] for r in rows]
            if ids:
                marks = ", ".join("?" for _ in ids)
                with transaction(state.db):
                    state.db.execute(
                        f"UPDATE {quote(table.name)} SET {quote(field)} = ? "
                        f"WHERE PK_ID IN ({marks})",
                        [stored, *ids],
                    )
        return len(ids)
