"""Tables and fields: the Caspio schema as DDL on the tenant's SQLite database ([C] caspio.md
§3, §4).

A field is its [C] §4.1 field object (a dict, as the API returns it); its column has the
affinity of its type token. Unique is a separate index, never a column constraint, so a column
can later be renamed or dropped."""

from __future__ import annotations

import re
from typing import Any

from .errors import BadBody, NotFound
from .sqltext import quote
from .state import CaspioState, Table, transaction

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
# [C] §3 UpdateFieldModel's properties (v3 names; v2 writes each with "New" before it)
UPDATE_FIELDS = frozenset(
    {
        "Name",
        "Type",
        "Unique",
        "UniqueAllowNulls",
        "Label",
        "Description",
        "DisplayOrder",
        "OnInsert",
        "OnUpdate",
        "TimeZone",
        "Format",
        "Prefix",
        "Length",
        "ListField",
    }
)


class Schema:
    """Create tables; add, rename, relabel and delete fields. Each change is one transaction:
    a refused change leaves the table as it was."""

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
                table.fields.append(self.field_object(table, spec))
            cols = ['"PK_ID" INTEGER PRIMARY KEY AUTOINCREMENT'] + [
                self._column_sql(f) for f in table.fields
            ]
            with transaction(state.db):
                state.db.execute(f"CREATE TABLE {quote(name)} ({', '.join(cols)})")
                for f in table.fields:
                    if f["Unique"]:
                        self._unique_index(state, table, f["Name"])
            state.tables[name.lower()] = table
            return table

    @staticmethod
    def field_object(table: Table, spec: Any) -> dict[str, Any]:
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
            obj = self.field_object(table, spec)
            with transaction(state.db):
                state.db.execute(
                    f"ALTER TABLE {quote(table.name)} ADD COLUMN {self._column_sql(obj)}"
                )
                if obj["Unique"]:
                    self._unique_index(state, table, obj["Name"])
            table.fields.append(obj)
            return obj

    def update_field(
        self, state: CaspioState, table: Table, name: str, spec: Any, *, v2: bool = False
    ) -> None:
        """[C] §3: v3's UpdateFieldModel uses plain names (``Name``, ``Label``, …), v2's the
        same names with ``New`` before them (``NewName``, ``NewLabel``, …: the v2 SDK's
        ``validFieldPropertiesOnUpdate``, source [S3] of caspio.md). A name of the other
        version is refused, naming the one to use ([?] §3: what Caspio does with it is
        undocumented; refusing beats dropping the change silently)."""
        f = table.field(name)
        if f is None:
            raise NotFound("Requested object not found")
        if not isinstance(spec, dict) or not spec:
            raise BadBody("Required body parameter absent or has incorrect format")
        spec = self._update_names(spec, v2=v2)
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

    @staticmethod
    def _update_names(spec: dict[str, Any], *, v2: bool) -> dict[str, Any]:
        """The body's properties under their v3 names; a name of the other version → 400."""
        out: dict[str, Any] = {}
        for key, value in spec.items():
            plain = key[3:] if key.startswith("New") and key[3:] in UPDATE_FIELDS else None
            if v2 and plain is None and key in UPDATE_FIELDS:
                raise BadBody(
                    f"'{key}' is the v3 name of this property; on /rest/v2 a field update "
                    f"takes 'New{key}'."
                )
            if not v2 and plain is not None:
                raise BadBody(
                    f"'{key}' is the v2 name of this property; on /integrations/rest/v3 a "
                    f"field update takes '{plain}'."
                )
            out[plain or key] = value
        return out

    def delete_field(self, state: CaspioState, table: Table, name: str) -> None:
        f = table.field(name)
        if f is None:
            raise NotFound("Requested object not found")
        with state.lock:
            with transaction(state.db):
                self._drop_indexes(state, table, f["Name"])
                state.db.execute(f"ALTER TABLE {quote(table.name)} DROP COLUMN {quote(f['Name'])}")
            table.fields.remove(f)
            for i, other in enumerate(table.fields, 1):
                other["DisplayOrder"] = i
