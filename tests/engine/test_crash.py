"""SIGKILL the engine mid-run, again and again; after restart nothing is lost or doubled."""

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

WORKER = Path(__file__).with_name("crash_worker.py")
ROUNDS = 20


def test_sigkill_mid_run_loses_and_duplicates_nothing(tmp_path):
    rng = random.Random(7)
    root = Path(__file__).resolve().parents[2]
    killed_busy = 0
    for round_no in range(ROUNDS):
        proc = subprocess.Popen(
            [sys.executable, str(WORKER), str(tmp_path), str(round_no)],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        # Kill at a random moment after start-up (however slow the machine is): often mid-run,
        # sometimes before or after everything.
        assert proc.stdout.readline() == b"ready\n", proc.stderr.read().decode()
        deadline = time.monotonic() + rng.uniform(0.0, 0.08)
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.005)
        assert proc.poll() is None, proc.stderr.read().decode()
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        killed_busy += b"idle" not in out
    final = subprocess.run(
        [sys.executable, str(WORKER), str(tmp_path), "-1", "--final"],
        cwd=root,
        capture_output=True,
        timeout=60,
    )
    assert final.returncode == 0, final.stderr.decode()

    assert killed_busy >= ROUNDS // 4, f"only {killed_busy} kills landed mid-work"
    acked = {line.split()[1] for line in (tmp_path / "acks.log").read_text().splitlines()}
    assert acked, "no event was ever acknowledged: kill later"
    db = sqlite3.connect(tmp_path / "db" / "engine.sqlite")
    events = dict(db.execute("SELECT idem_key, id FROM events").fetchall())
    assert acked <= set(events)  # every acknowledged event was committed
    runs = db.execute("SELECT id, event_id, status, data FROM runs WHERE retry_of IS NULL")
    runs = runs.fetchall()
    per_event = Counter(event_id for _id, event_id, _s, _d in runs)
    assert all(per_event[events[key]] == 1 for key in acked)  # exactly one run each
    assert all(status in ("Completed", "Failed") for _i, _e, status, _d in runs)  # none stuck
    ledger = Counter((tmp_path / "ledger.log").read_text().splitlines())
    for run_id, _event, _status, data in runs:
        for step in json.loads(data)["steps"]:
            if step["status"] == "Completed":
                assert ledger[f"{run_id}:{step['id']}"] == 1, (run_id, step)
            if step["status"] == "Failed":
                assert "interrupted by an engine restart" in step["error"]
    assert max(ledger.values()) == 1  # no side effect ever happened twice
    completed = sum(1 for r in runs if r[2] == "Completed")
    assert completed >= len(runs) // 2
    print(f"{killed_busy}/{ROUNDS} kills mid-work, {len(runs)} runs, {completed} completed")
