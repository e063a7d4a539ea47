"""One flag set for the commands that serve the stack (``up``, ``demo``, ``run``), the same
refusals before anything starts, and ``contract check`` reading a running stack."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import typer

from careflow.scenarios.cli import app

from .cli_support import invoke, json_of

SERVE_FLAGS = {"--host", "--port", "--info-file", "--data-dir", "--seed", "--tls"}
ROOT = typer.main.get_command(app)


@pytest.mark.parametrize("name", ["up", "demo", "run"])
def test_up_demo_and_run_take_one_flag_set(name):
    names = {opt for param in ROOT.commands[name].params for opt in getattr(param, "opts", [])}
    assert names >= SERVE_FLAGS


def held_port() -> tuple[socket.socket, int]:
    """A listening socket on P+1 where P, P+2 and P+3 are free: a stack from P cannot start."""
    for _ in range(50):
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        base = probe.getsockname()[1]
        probe.close()
        if base > 65000:
            continue
        holder = socket.socket()
        try:
            holder.bind(("127.0.0.1", base + 1))
        except OSError:
            holder.close()
            continue
        holder.listen(1)
        return holder, base
    raise RuntimeError("no free port span found")


@pytest.mark.parametrize("name", ["up", "demo", ["run", "wc_quote_marks_quotable", "--port"]])
def test_a_busy_port_stops_with_one_line_naming_it(name, tmp_path: Path):
    holder, base = held_port()
    stale = tmp_path / "stack.json"
    stale.write_text("{}")  # another stack's info file: left alone when we cannot start
    words = name if isinstance(name, list) else [name, "--port"]
    try:
        result = invoke(*words, str(base), "--info-file", str(stale))
    finally:
        holder.close()
    assert result.exit_code in (1, 2), result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert f"port {base + 1} (whatconverts)" in lines[0] and "--port 0" in lines[0]
    assert stale.read_text() == "{}"


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--port", "70000"], "--port 70000 is not a port careflow can use"),
        (["--port", "0", "--info-file", "nodir/x.json"], "the folder nodir does not exist"),
    ],
)
def test_bad_serving_flags_are_one_line(args, said):
    for name in ("up", "demo"):
        result = invoke(name, *args)
        assert result.exit_code == 1
        assert result.output.strip().splitlines() == [result.output.strip()]
        assert said in result.output


def test_run_serves_a_stack_for_the_run_with_the_up_flags(tmp_path: Path):
    info_file = tmp_path / "stack.json"
    result = invoke(
        "run",
        "wc_quote_marks_quotable",
        "--port",
        "0",
        "--info-file",
        str(info_file),
        "--seed",
        "3",
        "--json",
    )
    found = json_of(result)
    assert found["passed"] and found["counts"] == {"scenarios": 1, "passed": 1, "failed": 0}
    assert found["stack"]["engine"]["url"].startswith("http://127.0.0.1:")
    assert "CAREFLOW_WHATCONVERTS_API_TOKEN=" in result.stderr  # said for people, on stderr
    assert not info_file.exists()  # the stack is gone: so is its info file
    refused = invoke("run", "wc_quote_marks_quotable", "--port", "0", "--url", "http://x")
    assert refused.exit_code == 2 and "give one or the other" in refused.output


def test_contract_check_reads_a_running_stack(stack_info, tmp_path: Path):
    info_file = tmp_path / "stack.json"
    info_file.write_text(json.dumps(stack_info))
    report = tmp_path / "cases.json"
    result = invoke(
        "contract",
        "cases",
        "ours",
        "--info-file",
        str(info_file),
        "--report",
        str(report),
        "--json",
    )
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found["target"] == stack_info["ours"]["url"] and found["passed"]
    by_url = invoke("contract", "cases", "ours", "--url", stack_info["engine"]["url"])
    assert by_url.exit_code == 0, by_url.output
    for line in (result.stderr, by_url.output):
        assert stack_info["ours"]["token"] not in line  # credentials are never printed
    both = invoke("contract", "cases", "ours", "--info-file", str(info_file), "--base-url", "x")
    assert both.exit_code == 2 and "not both" in both.output
    missing = invoke("contract", "cases", "ours", "--info-file", str(tmp_path / "none.json"))
    assert missing.exit_code == 2 and "no such file" in missing.output
