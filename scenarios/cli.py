"""The ``careflow`` command line's entry point.

Commands live in ``careflow.scenarios.commands`` (Typer). ``careflow json`` — what scripts
call again and again — is answered from the standard library alone, without loading Typer,
Rich or pydantic (about ten times faster to start).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .commands import app

__all__ = ["app", "main"]


def main() -> None:
    argv = sys.argv[1:]
    if argv[:1] == ["up"]:
        from careflow.heap import hold_collector

        hold_collector()  # the stack server collects once it answers (careflow/heap.py)
    # httpx's own command line (click, pygments, rich.progress) is never used here: without
    # it ``import httpx`` falls back to a stub ``httpx.main`` and loads a third faster
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    if argv[:1] == ["json"]:
        from .jsonpath import main as json_main

        code = json_main(argv[1:])
        if code is not None:
            sys.exit(code)
    from .commands import app

    app(prog_name="careflow")


def __getattr__(name: str) -> Any:
    if name == "app":
        from .commands import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    main()
