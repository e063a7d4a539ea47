import json

import httpx

from careflow.scenarios.cli import app
from careflow.scenarios.server import spawn_up, stop_up


def test_up_writes_info_file_when_ready_and_stops_cleanly(tmp_path):
    info_file = tmp_path / "stack.json"
    proc = spawn_up(info_file, "--seed", "3", "--json")
    try:
        info = json.loads(info_file.read_text())
        assert set(info) == {"engine", "whatconverts", "caspio", "ours"}
        ports = {int(entry["url"].rsplit(":", 1)[1]) for entry in info.values()}
        assert len(ports) == 4
        for name, entry in info.items():
            health = httpx.get(f"{entry['url']}/__sandbox/health")
            assert health.status_code == 200 and health.json()["service"] == name
        assert httpx.get(f"{info['engine']['url']}/__sandbox/stack").json() == info
        assert info["whatconverts"]["profile_id"] == 101
        assert info["caspio"]["profile_name"] == "Keragon demo"
        # one clock for the whole stack, across processes' servers
        httpx.post(f"{info['ours']['url']}/__sandbox/clock", json={"set": "2031-01-01T00:00:00Z"})
        now = httpx.get(f"{info['engine']['url']}/__sandbox/clock").json()["now"]
        assert now.startswith("2031-01-01T00:00")
    finally:
        out, err = stop_up(proc)
    assert proc.returncode == 0, err.decode()
    # --json: the info alone on stdout; URLs, credentials as KEY=value lines and the rest on stderr
    assert json.loads(out) == info
    said = err.decode().splitlines()
    assert f"CAREFLOW_OURS_TEST_TOKEN={info['ours']['test_token']}" in said
    assert f"dashboard: {info['engine']['url']}/ui/" in said and said[-1] == "stopped"
    assert not info_file.exists()  # a stopped stack leaves no "ready" signal behind


# What the stack loads on first use, not when `careflow up` starts (issue 18: cold start): the
# Caspio query parser, the template engines, cron, YAML.
LOADED_ON_FIRST_USE = ("sqlglot", "jinja2", "croniter", "yaml")


def test_the_served_stack_is_built_without_what_loads_on_first_use():
    """A fresh interpreter builds the served stack as `careflow up` does (one subprocess: this
    process has long imported everything)."""
    import subprocess
    import sys

    code = (
        "import json, sys\n"
        "from careflow.scenarios.serving import ServeOptions, build_server\n"
        "server, _ = build_server(ServeOptions(port=0))\n"
        "server.info()\n"
        f"print(json.dumps([m for m in {list(LOADED_ON_FIRST_USE)!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_help_lists_every_command():
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("up", "demo", "bench"):
        assert command in result.output
