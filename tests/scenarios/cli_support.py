"""Helpers for the CLI tests: commands run in this process (typer's runner: no interpreter to
start, no FastAPI to import again), and a stack served on free loopback ports in a thread for
the commands that talk to a running stack."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from typer.testing import CliRunner, Result

from careflow.scenarios.cli import app


def invoke(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
    """``careflow ARGS`` in-process, on an 80-column console unless ``env`` says otherwise."""
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "80", **(env or {})}, input=input)


def json_of(result: Result) -> Any:
    """The command's ``--json`` document: stdout alone must parse."""
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


@contextmanager
def served_stack(**options: Any) -> Iterator[dict[str, Any]]:
    """A stack on free loopback ports (as ``careflow up --port 0`` serves it); yields its info."""
    from careflow.scenarios.server import StackServer, bind_sockets, urls_of
    from careflow.scenarios.stack import Stack

    sockets = bind_sockets("127.0.0.1", 0)
    server = StackServer(Stack(urls=urls_of("127.0.0.1", sockets), **options), sockets)
    server.start_in_thread()
    try:
        yield server.info()
    finally:
        server.stop_thread()
