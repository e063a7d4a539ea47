"""``careflow json KEY [FILE]``: one value of a JSON document, for scripts (no ``jq``).

Standard library only: the entry point (``careflow.scenarios.cli``) answers ``careflow json``
from here without loading the command-line framework, so a script can call it many times.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["JsonPathError", "lookup", "main", "read_document", "render"]


class JsonPathError(Exception):
    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code  # 2: bad usage (not a JSON document); 1: no such value


def read_document(file: str) -> Any:
    """The JSON document in ``file`` (``-``: stdin)."""
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text()
        return json.loads(text)
    except (OSError, ValueError) as exc:
        raise JsonPathError(f"{file}: not a JSON document ({exc})", 2) from None


def lookup(value: Any, key: str, source: str = "-") -> Any:
    """The value at dotted ``key`` (``engine.url``, ``items.0.id``; ``.`` is the document)."""
    for part in [] if key == "." else key.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and _index(part, len(value)) is not None:
            value = value[_index(part, len(value))]  # type: ignore[index]
        else:
            there = ", ".join(map(str, value)) if isinstance(value, dict) else type(value).__name__
            raise JsonPathError(f"{key}: no {part!r} in {source} (there: {there})")
    return value


def _index(part: str, length: int) -> int | None:
    try:
        index = int(part)
    except ValueError:
        return None
    return index if -length <= index < length else None


def render(value: Any, as_json: bool = False) -> str:
    """Text as is (``--json``: quoted); anything else as one line of JSON."""
    if isinstance(value, str) and not as_json:
        return value + "\n"
    return json.dumps(value) + "\n"


def main(argv: list[str]) -> int | None:
    """``careflow json`` for the plain forms (``KEY [FILE] [--json]``); None for anything else
    (``--help``, a mistake), which the full command line then answers."""
    as_json = "--json" in argv
    words = [a for a in argv if a != "--json"]
    if not 1 <= len(words) <= 2 or any(w.startswith("-") and w != "-" for w in words):
        return None
    key, file = words[0], words[1] if len(words) == 2 else "-"
    try:
        value = lookup(read_document(file), key, file)
    except JsonPathError as exc:
        sys.stderr.write(f"{exc}\n")
        return exc.code
    sys.stdout.write(render(value, as_json))
    return 0
