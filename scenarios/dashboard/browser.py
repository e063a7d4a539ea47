"""A real headless Chromium for the dashboard's tests and benchmark (Debian's ``chromium``).

Playwright drives it through ``executable_path``: no browser download (it would fail offline).
"""

from __future__ import annotations

import os
import shutil
from typing import Any

INSTALL_HINT = "apt-get install -y chromium"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def find_chromium() -> str | None:
    """``CAREFLOW_CHROMIUM``, else the first Chromium on PATH."""
    explicit = os.environ.get("CAREFLOW_CHROMIUM")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def launch(playwright: Any) -> Any:
    """A headless Chromium browser (a Playwright ``Browser``)."""
    path = find_chromium()
    if path is None:
        raise RuntimeError(f"no Chromium found: install it with `{INSTALL_HINT}`")
    return playwright.chromium.launch(executable_path=path, args=LAUNCH_ARGS, headless=True)
