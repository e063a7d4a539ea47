"""What the rest of the Caspio fake needs of sql.py without loading sqlglot (imported by sql.py on
first use of a query clause): the refusal error and identifier quoting."""

from __future__ import annotations


class SqlRefused(ValueError):
    """Text the fake will not run; the message reads like SQL Server's."""


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
