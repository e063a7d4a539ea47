"""Record values: how a value in a record body becomes the stored SQLite value, the way Caspio
converts it ([C] caspio.md §5.5), how a string compared in ``q.where`` becomes one, and how
password values are kept (hashed, never read back: §5.6)."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import secrets
from datetime import datetime
from typing import Any

from .sqltext import SqlRefused
from .state import Table, iso

DATE_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?)?(Z|[+-]\d{2}:?\d{2})?$"
)
DATE_TYPES = ("DATE/TIME", "TIMESTAMP")


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
