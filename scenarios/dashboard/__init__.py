"""The dashboard: see and steer the whole sandbox in a browser, at ``{engine}/ui/``.

Server-rendered pages (jinja2) with a little plain-``fetch`` polling; every asset ships in this
package (no CDN). It reads the stack only through its public HTTP surfaces — the engine API,
``/__sandbox/stack`` and each fake's ``/__sandbox/`` admin API — so it works the same against an
in-process stack, ``careflow up`` and a stack on another port. PHI-marked values are masked until
the "reveal synthetic values" switch is on; secrets are never shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["create_app", "mount_dashboard"]

if TYPE_CHECKING:
    from .app import create_app, mount_dashboard


def __getattr__(name: str) -> Any:
    # lazily: `careflow doctor` reads .browser without paying for the pages
    if name in __all__:
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
