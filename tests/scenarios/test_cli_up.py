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


def test_help_lists_every_command():
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("up", "demo", "bench"):
        assert command in result.output
