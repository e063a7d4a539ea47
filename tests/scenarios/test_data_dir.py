import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx


def start(info_file: Path, data_dir: Path) -> subprocess.Popen:
    info_file.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scenarios.cli",
            "up",
            "--port",
            "0",
            "--info-file",
            str(info_file),
            "--data-dir",
            str(data_dir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "200"},
    )
    deadline = time.monotonic() + 30
    while not info_file.exists():
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(15)
    assert proc.returncode == 0


def test_state_survives_a_restart_with_data_dir(tmp_path):
    info_file, data_dir = tmp_path / "stack.json", tmp_path / "data"
    proc = start(info_file, data_dir)
    try:
        info = json.loads(info_file.read_text())
        ours = info["ours"]
        accepted = httpx.post(
            f"{ours['url']}/api/v1/track",
            json={"token": ours["token"], "event": "lead_created", "externalId": "persist-1"},
        )
        assert accepted.json() == {"success": True}
        httpx.post(f"{ours['url']}/__sandbox/settle")
    finally:
        stop(proc)
    proc = start(info_file, data_dir)
    try:
        again = json.loads(info_file.read_text())
        assert again["ours"]["token"] == ours["token"]
        events = httpx.get(f"{again['ours']['url']}/__sandbox/events").json()["items"]
        assert [e["identifiers"]["externalId"] for e in events] == ["persist-1"]
    finally:
        stop(proc)
