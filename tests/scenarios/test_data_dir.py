import json

import httpx

from careflow.scenarios.server import spawn_up, stop_up


def test_state_survives_a_restart_with_data_dir(tmp_path):
    info_file, data_dir = tmp_path / "stack.json", tmp_path / "data"
    proc = spawn_up(info_file, "--data-dir", str(data_dir))
    try:
        ours = json.loads(info_file.read_text())["ours"]
        accepted = httpx.post(
            f"{ours['url']}/api/v1/track",
            json={"token": ours["token"], "event": "lead_created", "externalId": "persist-1"},
        )
        assert accepted.json() == {"success": True}
        httpx.post(f"{ours['url']}/__sandbox/settle")
    finally:
        assert stop_up(proc) and proc.returncode == 0
    proc = spawn_up(info_file, "--data-dir", str(data_dir))
    try:
        again = json.loads(info_file.read_text())
        assert again["ours"]["token"] == ours["token"]
        events = httpx.get(f"{again['ours']['url']}/__sandbox/events").json()["items"]
        assert [e["identifiers"]["externalId"] for e in events] == ["persist-1"]
    finally:
        stop_up(proc)
    assert proc.returncode == 0
