"""SIGKILL the whole stack at random points, round after round (issue 15): with --data-dir,
every write a fake or the engine acknowledged survives, none is stored twice, no id is given
twice, a Completed run's Caspio row exists, the shared clock never goes back, and no secret the
stack issued is on disk in clear.

Each round is a worker forked from a zygote (zygote.py) that opens the stack on the same data
dir (recovering what the previous round left), writes to every service until it is killed, and
logs each acknowledgement after its answer. Quick in CI (20 rounds); ``CAREFLOW_RELIABILITY=long``
runs 100 rounds with later kills for the report's figures.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

from careflow.clock import parse_instant

from .hostile import LONG
from .zygote import Zygote, pause

ROUNDS = 100 if LONG else 20
LATEST_KILL = 1.0 if LONG else 0.3  # seconds after the worker starts writing


def acks_of(root: Path) -> list[list[str]]:
    path = root / "acks.log"
    return [line.split() for line in path.read_text().splitlines()] if path.exists() else []


def test_sigkill_anywhere_loses_duplicates_and_reuses_nothing(tmp_path: Path) -> None:
    rng = random.Random(15)
    zygote = Zygote("tests.reliability.stack_worker")
    starts: list[tuple[str, str]] = []  # (the clock the round started on, the latest acked)
    busy = 0
    try:
        for round_no in range(ROUNDS):
            acked = [a[1] for a in acks_of(tmp_path) if a[0] == "clock"]
            worker = zygote.fork(str(tmp_path), round_no, 100_000)
            starts.append((worker.wait_for("ready").split()[1], max(acked, default="")))
            worker.wait_for("writing")  # a loaded machine may take long to recover and set up
            pause(rng.uniform(0.0, LATEST_KILL))
            worker.kill()
            busy += "idle" not in worker.lines
        acked = [a[1] for a in acks_of(tmp_path) if a[0] == "clock"]
        final = zygote.fork(str(tmp_path), ROUNDS, 0, True)
        starts.append((final.wait_for("ready").split()[1], max(acked, default="")))
        final.wait_for("done")
        final.finish()
    finally:
        zygote.close()

    acks = acks_of(tmp_path)
    state = json.loads((tmp_path / "final.json").read_text())
    kinds = Counter(a[0] for a in acks)
    assert all(kinds[k] for k in ("wc", "caspio", "ours", "engine", "clock")), kinds
    assert busy == ROUNDS  # every kill landed mid-work

    # WhatConverts: each acknowledged lead under its id, once (an id is never given twice)
    names = Counter(state["wc"].values())
    lost = [a for a in acks if a[0] == "wc" and state["wc"].get(a[1]) != a[2]]
    assert not lost, f"{len(lost)} acknowledged leads lost or overwritten: {lost[:5]}"
    assert all(names[a[2]] == 1 for a in acks if a[0] == "wc")

    # Caspio: each acknowledged row under its PK_ID, once
    rows = {tuple(r) for r in state["caspio"]}
    first_names = Counter(name for _pk, name in state["caspio"])
    lost = [a for a in acks if a[0] == "caspio" and (int(a[1]), a[2]) not in rows]
    assert not lost, f"{len(lost)} acknowledged Caspio rows lost: {lost[:5]}"
    assert all(first_names[a[2]] == 1 for a in acks if a[0] == "caspio")

    # Ours: each acknowledged event once
    distinct = Counter(state["ours"])
    assert all(distinct[a[1]] == 1 for a in acks if a[0] == "ours"), "an Ours event lost or doubled"

    # the engine: each acknowledged event once, with exactly one run, none stuck; a Completed
    # run's row exists in Caspio, and no run's row was inserted twice
    events = dict(state["events"])
    keys = [a[1] for a in acks if a[0] == "engine"]
    assert all(k in events for k in keys), "an acknowledged engine event was lost"
    runs = [r for r in state["runs"] if r["retry_of"] is None]
    per_event = Counter(r["event_id"] for r in runs)
    assert all(per_event[events[k]] == 1 for k in keys)
    assert {r["status"] for r in runs} <= {"Completed", "Failed"}
    by_event = {v: k for k, v in events.items()}
    for run in runs:
        key = by_event[run["event_id"]]
        assert first_names[f"wf-{key}"] <= 1, f"the row of {key} was inserted twice"
        if run["status"] == "Completed":
            assert first_names[f"wf-{key}"] == 1, f"run {run['id']} Completed without its row"

    # the shared clock: a restarted stack never reads earlier than a move it acknowledged
    for started, latest in starts:
        if latest:
            assert parse_instant(started) >= parse_instant(latest), (started, latest)

    # secrets at rest: none the stack issued is in any file of the data dir (WAL included)
    blobs = b"".join(p.read_bytes() for p in (tmp_path / "stack").rglob("*") if p.is_file())
    assert len(state["secrets"]) >= 10
    leaked = [s[:8] for s in state["secrets"] if s.encode() in blobs]
    assert not leaked, f"secrets in clear in the data dir: {leaked}"
    completed = sum(r["status"] == "Completed" for r in runs)
    print(
        f"{ROUNDS} SIGKILL rounds, {len(acks)} acknowledged writes {dict(kinds)}: 0 lost, "
        f"0 duplicated; {len(runs)} runs ({completed} Completed); clock never went back; "
        f"{len(state['secrets'])} secrets, none in clear"
    )
