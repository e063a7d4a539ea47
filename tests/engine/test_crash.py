"""SIGKILL the engine mid-run, again and again; after restart nothing is lost or doubled."""

import json
import random
import sqlite3
from collections import Counter

from ..reliability.zygote import Zygote, pause

ROUNDS = 20


def test_sigkill_mid_run_loses_and_duplicates_nothing(tmp_path):
    """Each round is a worker forked from one zygote (imports done once): cheap rounds."""
    rng = random.Random(7)
    killed_busy = 0
    zygote = Zygote("tests.engine.crash_worker")
    try:
        for round_no in range(ROUNDS):
            worker = zygote.fork(str(tmp_path), round_no)
            worker.wait_for("ready")
            # Kill at a random moment after start-up: often mid-run, sometimes before or after
            # everything.
            pause(rng.uniform(0.0, 0.08))
            worker.kill()
            killed_busy += "idle" not in worker.lines
        final = zygote.fork(str(tmp_path), -1, True)
        final.wait_for("idle")
        final.finish()
    finally:
        zygote.close()

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
