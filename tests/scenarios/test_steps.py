"""Scenario steps and expectations come from one registry (careflow.scenarios.steps): the
runner, the file format and the README all follow it."""

from __future__ import annotations

import pkgutil
import re
from pathlib import Path

import pytest

from careflow.mocks import VENDORS
from careflow.scenarios import steps
from careflow.scenarios.format import (
    ACTIONS,
    KINDS,
    Expectation,
    ScenarioError,
    Step,
    parse_scenario,
)

README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_list(label: str, end: str) -> set[str]:
    text = " ".join(README.read_text().split())
    start = text.index(f"{label}: ")
    chunk = text[start + len(label) + 2 : text.index(end, start)]
    chunk = re.sub(r"\([^)]*\)", "", chunk)  # "(any API: `service`, ...)" names no step
    return set(re.findall(r"`([a-z_]+)`", chunk))


def test_the_readme_lists_exactly_the_registered_steps_and_expectations():
    assert _readme_list("Steps", "Expectations:") == set(steps.STEPS)
    assert _readme_list("Expectations", "; counts take") == set(steps.CHECKS)


def test_the_format_models_are_built_from_the_registry():
    assert set(ACTIONS) == set(steps.STEPS) and set(KINDS) == set(steps.CHECKS)
    assert set(Step.model_fields) == {*steps.STEPS, "as_", "note"}
    assert set(Expectation.model_fields) == {*steps.CHECKS, "within"}


def test_step_modules_are_core_and_one_per_registered_vendor():
    found = {m.name for m in pkgutil.iter_modules(steps.__path__)} - {"base"}
    assert found <= {*steps.GENERIC, *VENDORS}, "a step module for no registered vendor"
    assert steps.modules() == tuple(n for n in (*steps.GENERIC, *VENDORS) if n in found)
    vendor_of = {d.module.rpartition(".")[2] for d in [*steps.STEPS.values()]}
    vendor_of |= {d.module.rpartition(".")[2] for d in steps.CHECKS.values()}
    assert vendor_of == found


def test_a_name_registered_twice_is_refused():
    with pytest.raises(ValueError, match="step 'advance' is registered twice"):
        steps.step("advance")(lambda _s, _p: None)
    assert steps.STEPS["advance"].module.endswith(".core")


@pytest.mark.parametrize(
    "text, needle",
    [
        (
            "steps:\n  - advance: 1m\n  - creat_lead: {email_address: a@example.com}\n",
            "line 4, steps.1.creat_lead",
        ),
        ("steps:\n  - advance: soon\n", "not a duration"),
        ("authentications:\n  - {name: a, app: caspio, key: live}\n", "takes no key"),
        ("authentications:\n  - {name: a, app: ours, key: master}\n", "'live', 'test'"),
        ("authentications:\n  - {name: a, app: ourz}\n", "unknown app 'ourz'"),
        ("steps:\n  - request: {service: engine, path: /x}\n    expect: []\n", "exactly one"),
    ],
)
def test_a_misspelt_step_or_key_is_refused_at_load(text, needle):
    with pytest.raises(ScenarioError) as info:
        parse_scenario(f"name: x\n{text}", "typo.yaml")
    assert needle in str(info.value) and "typo.yaml" in str(info.value)


TINY = """\
name: A vendor registered with one line
steps:
  - request:
      service: tiny
      path: /api/ping
      headers: {Authorization: "Bearer {{ stack.tiny.token }}"}
      status: 200
    as: ping
  - request: {service: tiny, path: /api/ping, status: 401}
expect:
  - http: {service: tiny, path: /__sandbox/health, body: {service: tiny}}
  - http: {service: engine, path: /api/workflows}
"""


def test_a_scenario_reaches_a_vendor_registered_with_one_line():
    """The throwaway vendor of tests/test_vendor_registry.py, in a scenario: its name is a
    service for ``request`` and ``http``, the driver resets it, the timeline shows its calls."""
    from careflow.scenarios.driver import StackDriver
    from careflow.scenarios.report import failure_text
    from careflow.scenarios.runner import ScenarioRunner
    from careflow.scenarios.stack import InProcessStack

    VENDORS.register("tiny", "tests.fixtures.tinyvendor")
    try:
        scenario = parse_scenario(TINY, "tiny.yaml")
        with InProcessStack(seed=0) as stack:
            driver = StackDriver.in_process(stack)
            assert driver.fakes == tuple(VENDORS)
            result = ScenarioRunner(driver).run(scenario)
    finally:
        VENDORS.unregister("tiny")
    assert result.passed, failure_text(result)
    calls = [(e.what, e.status) for e in result.timeline if e.service == "tiny"]
    assert calls == [("GET /api/ping", "200"), ("GET /api/ping", "401")]
