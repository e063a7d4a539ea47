"""``careflow doctor``: is this machine ready for the sandbox, and what to fix if not.

Each check answers ``ok``, ``warn`` (an optional tool is missing: only the feature it names
needs it) or ``fail`` (the sandbox cannot work as asked); every answer that is not ``ok`` says
what to do. The exit code is 1 when a check failed.
"""

from __future__ import annotations

import shutil
import socket
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .serving import DEFAULT_PORT, SPAN, ServeError, read_info

MIN_PYTHON = (3, 11)
SERVICES = ("engine", "whatconverts", "caspio", "ours")  # the port order of `careflow up`


@dataclass
class Check:
    name: str
    status: str  # ok | warn | fail
    detail: str
    fix: str = ""


def python_version() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info[:2] >= MIN_PYTHON:
        return Check("python", "ok", f"Python {version} ({sys.executable})")
    return Check(
        "python",
        "fail",
        f"Python {version}: careflow needs {'.'.join(map(str, MIN_PYTHON))} or newer",
        "install Python 3.11+ and make the virtualenv with it: python3.11 -m venv .venv",
    )


def installed() -> Check:
    import careflow

    where = Path(careflow.__file__).resolve().parent.parent
    return Check("careflow", "ok", f"careflow-sandbox imported from {where}")


def port_free(host: str, port: int) -> bool:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        sock.close()


def ports(host: str, base: int) -> Check:
    busy = [(base + i, name) for i, name in enumerate(SERVICES) if not port_free(host, base + i)]
    span = f"{base}..{base + SPAN - 1}"
    if not busy:
        return Check("ports", "ok", f"ports {span} on {host} are free for `careflow up`")
    named = ", ".join(f"{port} ({name})" for port, name in busy)
    return Check(
        "ports",
        "warn",
        f"in use on {host}: {named}",
        f"stop what holds them (another `careflow up`? `careflow doctor --url "
        f"http://{host}:{base}` tells), or start the stack with --port 0 (free ports) or "
        f"--port N",
    )


def stack(info_file: Path | None, url: str | None) -> Check:
    import httpx

    try:
        info = read_info(info_file, url)
    except ServeError as exc:
        return Check("stack", "fail", str(exc), "start it: careflow up --info-file stack.json")
    down = []
    for name, entry in info.items():
        if not isinstance(entry, dict) or "url" not in entry:
            continue
        try:
            response = httpx.get(f"{entry['url']}/__sandbox/health", timeout=5)
            if response.status_code != 200:
                down.append(f"{name} answered {response.status_code}")
        except httpx.HTTPError as exc:
            down.append(f"{name} at {entry['url']}: {type(exc).__name__}")
    engine = info.get("engine", {}).get("url", "?")
    if down:
        return Check(
            "stack",
            "fail",
            f"the stack at {engine} is not healthy: {'; '.join(down)}",
            "restart it (careflow up); its output says why a server stopped",
        )
    names = ", ".join(n for n, e in info.items() if isinstance(e, dict))
    return Check("stack", "ok", f"a careflow stack answers at {engine} ({names})")


def chromium() -> Check:
    from .dashboard.browser import INSTALL_HINT, find_chromium

    found = find_chromium()
    if found:
        return Check("chromium", "ok", f"Chromium for the dashboard's browser tests: {found}")
    hint = f"{INSTALL_HINT} (or set CAREFLOW_CHROMIUM to a Chromium binary)"
    return Check(
        "chromium",
        "warn",
        "no Chromium: the dashboard's browser tests skip, `careflow bench --only dashboard` fails",
        hint,
    )


def playwright() -> Check:
    from importlib.util import find_spec

    if find_spec("playwright") is not None:
        return Check("playwright", "ok", "Playwright (Python) for the dashboard's browser tests")
    return Check(
        "playwright",
        "warn",
        "Playwright is not installed: the dashboard's browser tests skip",
        'pip install -e ".[test]" (the test extras)',
    )


def tool(name: str, needed_for: str, install: str) -> Check:
    found = shutil.which(name)
    if found:
        return Check(name, "ok", f"{name} for {needed_for}: {found}")
    return Check(name, "warn", f"no {name}: only {needed_for} needs it", install)


def run_checks(
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    url: str | None = None,
    info_file: Path | None = None,
) -> list[Check]:
    checks = [python_version(), installed()]
    if url is not None or info_file is not None:
        checks.append(stack(info_file, url))
    if port != 0 and (port is not None or (url is None and info_file is None)):
        checks.append(ports(host, port or DEFAULT_PORT))
    checks += [
        chromium(),
        playwright(),
        tool("wrk", "`careflow bench --sockets`", "apt-get install -y wrk"),
        tool("curl", "the README's engine walkthrough", "apt-get install -y curl"),
    ]
    return checks


def report(checks: list[Check]) -> dict[str, Any]:
    return {
        "ok": not any(c.status == "fail" for c in checks),
        "checks": [asdict(c) for c in checks],
    }
