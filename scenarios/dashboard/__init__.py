"""The dashboard: see and steer the whole sandbox in a browser, at ``{engine}/ui/``.

Server-rendered pages (jinja2) with a little plain-``fetch`` polling; every asset ships in this
package (no CDN). It reads the stack only through its public HTTP surfaces — the engine API,
``/__sandbox/stack`` and each fake's ``/__sandbox/`` admin API — so it works the same against an
in-process stack, ``careflow up`` and a stack on another port. PHI-marked values are masked until
the "reveal synthetic values" switch is on; secrets are never shown.
"""

from .app import create_app, mount_dashboard

__all__ = ["create_app", "mount_dashboard"]
