"""Besides the 7-day retention, the engine keeps at most ``max_runs`` finished runs (and their
trigger events) and ``max_audit`` audit rows; a running run is never purged."""

from __future__ import annotations

import asyncio

import pytest

from careflow.engine import Engine
from careflow.engine.runs import RUNS_ENV, cap_from_env
from careflow.mocks.kernel import VirtualClock

LOGIC = {
    "app": "logic",
    "action": "continue_if",
    "params": {"value": "{{ trigger.n }}", "op": "greater_than_or_equal", "other": 0},
}


def test_finished_runs_and_audit_rows_are_capped() -> None:
    async def main() -> None:
        engine = Engine(clock=VirtualClock(frozen=True), max_runs=5, max_audit=7)
        wf = engine.create_workflow(
            {"name": "w", "trigger": {"app": "webhook"}, "steps": [{"id": "s", **LOGIC}]}
        )["id"]
        await engine.activate(wf)
        engine.accept(wf, [{"n": i} for i in range(30)])
        await engine.run_until_idle()
        engine.runs.purge(force=True)
        runs = engine.list_runs(wf)
        assert len(runs) == 5 and all(r["status"] == "Completed" for r in runs)
        assert [r["trigger"]["n"] for r in runs] == [29, 28, 27, 26, 25]  # the newest kept
        assert len(engine.audit()) == 7
        assert engine.store.one("SELECT count(*) AS n FROM events")["n"] == 5
        await engine.http.aclose()

    asyncio.run(main())


def test_running_runs_are_never_purged() -> None:
    async def main() -> None:
        engine = Engine(clock=VirtualClock(frozen=True), max_runs=1)
        wf = engine.create_workflow(
            {"name": "w", "trigger": {"app": "webhook"}, "steps": [{"id": "s", **LOGIC}]}
        )["id"]
        await engine.activate(wf)
        engine.accept(wf, [{"n": i} for i in range(4)])  # not driven: all still Running
        engine.runs.purge(force=True)
        assert len(engine.list_runs(wf, "Running")) == 4
        await engine.http.aclose()

    asyncio.run(main())


def test_the_cap_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RUNS_ENV, "42")
    assert cap_from_env(RUNS_ENV, 10) == 42
    monkeypatch.setenv(RUNS_ENV, "0")
    with pytest.raises(ValueError, match=RUNS_ENV):
        cap_from_env(RUNS_ENV, 10)
