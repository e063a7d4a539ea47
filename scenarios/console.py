"""How the ``careflow`` commands print: one console setup, the stack's URLs and credentials as
``KEY=value`` lines, and ``--json`` documents.

Output must read well at 80 columns and in CI logs (not a terminal, so Rich assumes 80 columns
there): a value meant to be copied — a credential, a URL, a path — is never broken by careflow;
a line longer than the terminal is left for the terminal to wrap, not cut into pieces.
``NO_COLOR`` (any value) turns colour off, as Rich honours it; with ``--json`` a command's
document is the only thing on stdout and what it says for people goes to stderr.
"""

from __future__ import annotations

import json
import shlex
import sys
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = [
    "console_for",
    "credential_lines",
    "emit_json",
    "env_name",
    "fail",
    "make_console",
    "print_stack",
    "services_table",
]


def make_console(*, stderr: bool = False) -> Console:
    """The console a command prints with: stderr when stdout carries a ``--json`` document.
    Rich reads ``NO_COLOR`` and ``COLUMNS`` itself, and sends no colour to a pipe."""
    return Console(stderr=stderr, highlight=False)


def console_for(as_json: bool = False) -> Console:
    """The console of a command: stderr when ``--json`` puts the document on stdout."""
    return make_console(stderr=as_json)


def fail(console: Console, message: str, code: int = 1) -> typer.Exit:
    """Say why in one line (red where colour is on) and return the exit to raise."""
    console.print(message, style="red", markup=False, soft_wrap=True)
    return typer.Exit(code)


def emit_json(data: Any) -> None:
    """Write ``data`` as the command's JSON document on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()


def env_name(service: str, key: str) -> str:
    """``CAREFLOW_<SERVICE>_<KEY>``: the names ``careflow contract check`` reads credentials
    from (``CAREFLOW_WHATCONVERTS_API_TOKEN``, ...)."""
    return f"CAREFLOW_{service.upper()}_{key.upper()}".replace("-", "_")


def _value(value: Any) -> str:
    text = str(value)
    return text if text and shlex.quote(text) == text else shlex.quote(text)


def credential_lines(info: dict[str, Any]) -> list[str]:
    """Every URL and demo credential of a stack's info as a ``KEY=value`` line, quoted for a
    shell only where a value needs it (``CAREFLOW_CASPIO_PROFILE_NAME='Keragon demo'``)."""
    lines = []
    for service, entry in info.items():
        if isinstance(entry, dict):
            lines += [f"{env_name(service, k)}={_value(v)}" for k, v in entry.items()]
        else:  # a top-level value such as --tls's ca_file
            lines.append(f"CAREFLOW_{service.upper()}={_value(entry)}")
    return lines


def services_table(info: dict[str, Any]) -> Table:
    """Service and URL, borderless: short enough for any terminal."""
    table = Table(box=None, pad_edge=False, show_edge=False, padding=(0, 2, 0, 0))
    table.add_column("service", no_wrap=True)
    table.add_column("URL", no_wrap=True)
    for name, entry in info.items():
        if isinstance(entry, dict) and "url" in entry:
            table.add_row(name, entry["url"])
    return table


def print_stack(console: Console, info: dict[str, Any], title: str = "careflow sandbox") -> None:
    """The services with their URLs, then every credential on a line of its own."""
    console.print(Text(f"{title} (synthetic data only)", style="bold"))
    console.print(services_table(info))
    console.print()
    console.print("demo credentials (KEY=value; `careflow info --json` for JSON):", soft_wrap=True)
    for line in credential_lines(info):
        console.print(line, soft_wrap=True, markup=False)
