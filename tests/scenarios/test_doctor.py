"""``careflow doctor``: what is ready, what is not, and what to do about it."""

from __future__ import annotations

import socket

from .cli_support import invoke, json_of


def checks_of(*args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, dict]]:
    result = invoke("doctor", *args, "--json", env=env)
    return result.exit_code, {c["name"]: c for c in json_of(result)["checks"]}


def test_doctor_checks_python_ports_and_tools_and_names_the_fix():
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    busy = holder.getsockname()[1]
    try:
        code, checks = checks_of("--port", str(busy - 2), env={"CAREFLOW_CHROMIUM": "/nonexistent"})
    finally:
        holder.close()
    assert code == 0  # a busy port and a missing Chromium are warnings
    assert checks["python"]["status"] == "ok"
    assert checks["ports"]["status"] == "warn" and f"{busy} (caspio)" in checks["ports"]["detail"]
    assert "--port 0" in checks["ports"]["fix"]
    assert checks["chromium"]["status"] == "warn"
    assert "apt-get install -y chromium" in checks["chromium"]["fix"]
    assert {"wrk", "curl", "playwright", "careflow"} <= set(checks)
    for check in checks.values():
        assert check["status"] == "ok" or check["fix"], check


def test_doctor_checks_a_running_stack(stack_info):
    code, checks = checks_of("--url", stack_info["engine"]["url"])
    assert code == 0 and checks["stack"]["status"] == "ok"
    assert "ports" not in checks  # the stack holds its ports: nothing to say about them
    code, checks = checks_of("--url", "http://127.0.0.1:9")
    assert code == 1 and checks["stack"]["status"] == "fail"
    assert "careflow up" in checks["stack"]["fix"]
    text = invoke("doctor", "--url", "http://127.0.0.1:9")
    assert "FAIL  stack: no careflow stack answers at http://127.0.0.1:9" in text.output
