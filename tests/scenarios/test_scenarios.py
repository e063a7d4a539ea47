"""The built-in scenarios pass in-process and against `careflow up`; failures say exactly why."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from careflow.scenarios.driver import StackDriver
from careflow.scenarios.format import (
    ScenarioError,
    builtin_scenarios,
    load_scenario,
    parse_scenario,
)
from careflow.scenarios.report import failure_text
from careflow.scenarios.runner import ScenarioRunner
from careflow.scenarios.server import spawn_up, stop_up
from careflow.scenarios.stack import InProcessStack
from careflow.scenarios.timeline import render

from .cli_support import invoke

BUILTINS = builtin_scenarios()


def run(scenario, stack=None):
    if stack is not None:
        return ScenarioRunner(StackDriver.in_process(stack)).run(scenario)
    with InProcessStack(seed=scenario.seed) as fresh:
        return ScenarioRunner(StackDriver.in_process(fresh)).run(scenario)


def test_there_are_builtins_for_every_rule():
    names = {p.stem for p in BUILTINS}
    assert {
        "wc_trigger_test_limits",
        "wc_update_lead_four_fields",
        "ours_test_mode_vs_live",
        "caspio_triggers_webhook_lifecycle",
        "caspio_end_integration_order",
        "wc_new_patient_inquiry",
    } <= names


@pytest.mark.parametrize("path", BUILTINS, ids=[p.stem for p in BUILTINS])
def test_builtin_scenario_passes_in_process(path: Path):
    result = run(load_scenario(path))
    assert result.passed, failure_text(result)
    assert result.checks >= 1
    assert result.timeline, "a passing scenario still has a timeline"


FAILING = """\
name: Expecting the wrong thing
clock: {set: "2026-03-02T09:00:00Z"}
authentications:
  - {name: ours-live, app: ours, key: live}
workflows:
  - id: fwd
    definition:
      name: forward
      trigger: {app: webhook}
      steps:
        - id: track
          app: ours
          action: track
          auth: ours-live
          params: {event: appointment_booked, email: "{{ trigger.email }}"}
steps:
  - request:
      {service: engine, method: POST, path: "/hooks/{{ workflows.fwd }}", json: {email: a@x.org}}
expect:
  - run: {workflow: fwd, status: Failed}
"""


def test_a_failing_expectation_shows_expected_actual_and_the_timeline():
    scenario = parse_scenario(FAILING, "failing.yaml")
    result = run(scenario)
    assert not result.passed
    text = failure_text(result)
    assert "failing.yaml" in text and "Expecting the wrong thing" in text
    assert "expected:" in text and "actual:" in text
    assert "Failed" in text and "Completed" in text  # what was wanted, what happened
    assert "timeline up to the failure:" in text
    assert "POST /api/v1/track" in text  # the Ours call is on the timeline
    # the run, the Ours request and its dispatches share one correlation id
    run_row = next(e for e in result.timeline if e.kind == "run")
    cid = run_row.correlation_id
    assert cid
    kinds = {e.kind for e in result.timeline if e.correlation_id == cid}
    assert {"run", "step", "request"} <= kinds


def test_scenario_errors_name_the_line():
    bad = "name: x\nsteps:\n  - advance: 1m\nexpect:\n  - run: {workflow: w}\n    within: soon\n"
    with pytest.raises(ScenarioError) as info:
        parse_scenario(bad, "bad.yaml")
    message = str(info.value)
    assert "bad.yaml" in message and "line 5" in message


HEAD = """name: x
workflows:
  - id: intake
    definition: {name: w, trigger: {app: webhook}, steps: []}
"""


@pytest.mark.parametrize(
    "expectation, needle",
    [
        ("run: {workflow: intake, staus: Failed}", "staus"),
        ("run: {workflow: intake, status: Done}", "Completed"),
        ("run: {workflow: intake, at_least: -3}", "greater than or equal to 0"),
        ("run: {workflow: intake, count: 1, at_least: 1}", "not both"),
        ("caspio_row: {table: Patients, valuse: {Name: Nobody}}", "valuse"),
        ("not_dispatched: {mode: tests}", "'live' or 'test'"),
        ("http: {service: nowhere, path: /x}", "service"),
        ("run: {workflow: nope}", "unknown workflow alias: expect 1 (run): 'nope'"),
    ],
)
def test_a_misspelt_or_impossible_expectation_is_refused_at_load(expectation, needle):
    with pytest.raises(ScenarioError) as info:
        parse_scenario(f"{HEAD}expect:\n  - {expectation}\n", "typo.yaml")
    assert needle in str(info.value)
    assert "typo.yaml" in str(info.value)


def test_a_step_naming_an_unknown_workflow_is_refused_at_load():
    with pytest.raises(ScenarioError, match="step 1 \\(activate\\): 'intak'"):
        parse_scenario(f"{HEAD}steps:\n  - activate: intak\n", "typo.yaml")


def test_setup_resets_state_between_scenarios_on_one_stack():
    """Two scenarios in a row on one stack: the second sees none of the first one's leads."""
    path = next(p for p in BUILTINS if p.stem == "wc_quote_marks_quotable")
    scenario = load_scenario(path)
    with InProcessStack(seed=0) as stack:
        first = run(scenario, stack)
        second = run(scenario, stack)
    assert first.passed and second.passed, failure_text(second)
    assert [e.what for e in first.timeline if e.kind == "request"] == [
        e.what for e in second.timeline if e.kind == "request"
    ]


def careflow_run(*args: str) -> subprocess.CompletedProcess[str]:
    """`careflow run ARGS` on a wide console, in this process (the command, not the process, is
    under test here: `careflow up` below is the real process)."""
    result = invoke("run", *args, env={"COLUMNS": "200"})
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def test_builtins_pass_against_careflow_up(tmp_path: Path):
    """The same files, against real uvicorn servers started by `careflow up`."""
    info = tmp_path / "info.json"
    proc = spawn_up(info)
    try:
        engine_url = json.loads(info.read_text())["engine"]["url"]
        pinned = {"set": "2030-05-05T05:05:05Z", "frozen": True}
        assert httpx.post(f"{engine_url}/__sandbox/clock", json=pinned).status_code == 200
        # files, and one built-in by name as `careflow scenarios` lists it
        # last, one whose workflows stay installed: --url leaves them inactive
        files = [BUILTINS[0].stem, *(str(p) for p in BUILTINS[1:]), "wc_new_patient_inquiry"]
        out = careflow_run("--quiet", "--url", engine_url, *files)
        # the shared stack's clock is put back as it was
        clock = httpx.get(f"{engine_url}/__sandbox/clock").json()
        assert clock == {"now": "2030-05-05T05:05:05Z", "frozen": True}
        # and nothing the scenarios installed is left polling or holding webhooks
        workflows = httpx.get(f"{engine_url}/api/workflows").json()["items"]
        assert workflows and all(w["status"] != "active" for w in workflows)
    finally:
        stop_up(proc)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "resets the stack" in out.stdout
    assert out.stdout.count("│ passed") == len(BUILTINS) + 1
    assert "FAIL" not in out.stdout and "│ failed" not in out.stdout


def test_careflow_run_says_when_no_stack_answers_at_url():
    out = careflow_run(BUILTINS[0].stem, "--url", "http://127.0.0.1:9")
    assert out.returncode == 2, out.stdout + out.stderr
    assert "no careflow stack answers at http://127.0.0.1:9" in out.stdout
    assert "Traceback" not in out.stdout + out.stderr


def test_careflow_run_names_an_unknown_scenario():
    out = careflow_run("no_such_scenario")
    assert out.returncode == 2
    assert "no_such_scenario: no such scenario file, folder or built-in scenario" in out.stdout


def test_careflow_run_exits_1_and_prints_the_failure(tmp_path: Path):
    path = tmp_path / "failing.yaml"
    path.write_text(FAILING)
    out = careflow_run(str(path))
    assert out.returncode == 1
    assert "FAIL Expecting the wrong thing" in out.stdout
    assert "expected" in out.stdout and "actual" in out.stdout


def test_pytest_collects_scenario_files_and_reports_expected_vs_actual(pytester):
    folder = pytester.mkdir("scenarios")
    (folder / "wrong.yaml").write_text(FAILING)
    (folder / "right.yaml").write_text(FAILING.replace("status: Failed", "status: Completed"))
    result = pytester.runpytest("-p", "no:xdist", "--careflow-scenarios", "scenarios")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*expected:*Failed*", "*actual:*Completed*", "*timeline*"])


def test_scenario_files_are_collected_only_when_asked_for(pytester):
    """A user's YAML under a scenarios/ folder is not read unless collection is switched on:
    ``--careflow-scenarios`` (above) or ``careflow_scenarios = true`` in the ini."""
    (pytester.mkdir("scenarios") / "x.yaml").write_text(FAILING)
    result = pytester.runpytest("-p", "no:xdist", "--collect-only", "-q", "scenarios")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    pytester.makeini("[pytest]\ncareflow_scenarios = true\n")
    result = pytester.runpytest("-p", "no:xdist", "--collect-only", "-q", "scenarios")
    result.stdout.fnmatch_lines(["*x.yaml::Expecting the wrong thing*"])


def test_timeline_follows_one_correlation_id_in_causal_order():
    """A Caspio insert → its webhook → the run and its step → the Ours call → dispatches, all
    under the scenario's X-Request-ID and in that order although the clock is frozen."""
    path = next(p for p in BUILTINS if p.stem == "caspio_triggers_webhook_lifecycle")
    result = run(load_scenario(path))
    assert result.passed, failure_text(result)
    chain = [(e.service, e.kind) for e in result.timeline if e.correlation_id == "scn-0001"]
    assert chain[:6] == [
        ("caspio", "request"),
        ("caspio", "webhook"),
        ("engine", "run"),
        ("engine", "step"),
        ("ours", "request"),
        ("ours", "dispatch"),
    ], chain
    table = render(result.timeline, follow="scn-0001")
    assert table.row_count == len(chain)


def test_timeline_follows_a_polled_lead_from_its_request_to_the_dispatch():
    """A polling trigger's run has an id of its own; the timeline shows it, its steps and its
    vendor calls under the id of the request that created the lead."""
    path = next(p for p in BUILTINS if p.stem == "wc_new_patient_inquiry")
    result = run(load_scenario(path))
    assert result.passed, failure_text(result)
    chain = [(e.service, e.kind, e.what.strip()) for e in result.timeline]
    first = [
        c[:2] for c, e in zip(chain, result.timeline, strict=True) if e.correlation_id == "scn-0001"
    ]
    assert first[0] == ("whatconverts", "request")
    assert ("engine", "run") in first and ("caspio", "request") in first
    assert first[-1] == ("ours", "dispatch")
    assert not any(e.correlation_id.startswith("evt_") for e in result.timeline if e.kind == "run")


def test_ctrl_c_during_a_run_on_a_shared_stack_leaves_no_workflow_active(monkeypatch):
    """Issue 15: Ctrl-C during `careflow run --url` could leave a scenario's workflow active
    (polling, holding Caspio webhooks) on someone else's stack."""
    from careflow.scenarios.format import parse_scenario

    scenario = parse_scenario(FAILING)
    with InProcessStack(seed=scenario.seed) as stack:
        runner = ScenarioRunner(StackDriver.in_process(stack), leave_active=False)

        def interrupted(*_args, **_kwargs):
            raise KeyboardInterrupt

        monkeypatch.setattr(runner, "_step", interrupted)
        with pytest.raises(KeyboardInterrupt):
            runner.run(scenario)
        with stack.client("engine") as engine:
            statuses = [w["status"] for w in engine.get("/api/workflows").json()["items"]]
    assert statuses == ["inactive"]
