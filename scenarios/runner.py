"""Run a scenario against a stack: install, act, expect; return a result with its timeline."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from .driver import DriverError, StackDriver
from .format import Expectation, Scenario, Step, seconds
from .steps import CHECKS, KEYS, STEPS, Outcome, StepContext
from .timeline import Event, collect

TEMPLATES = SandboxedEnvironment(undefined=StrictUndefined)
TICK_SECONDS = 15.0


@dataclass
class Failure:
    where: str
    message: str
    expected: Any = None
    actual: Any = None


@dataclass
class ScenarioResult:
    scenario: Scenario
    failures: list[Failure] = field(default_factory=list)
    timeline: list[Event] = field(default_factory=list)
    seconds: float = 0.0
    checks: int = 0

    @property
    def passed(self) -> bool:
        return not self.failures


class ScenarioFailed(AssertionError):
    pass


def render(value: Any, ctx: dict[str, Any]) -> Any:
    """Render ``{{ ... }}`` templates in strings, recursively; a lone expression keeps its type."""
    if isinstance(value, str) and "{{" in value:
        stripped = value.strip()
        if stripped.startswith("{{") and stripped.endswith("}}") and stripped.count("{{") == 1:
            return TEMPLATES.compile_expression(stripped[2:-2].strip())(**ctx)
        return TEMPLATES.from_string(value).render(**ctx)
    if isinstance(value, dict):
        return {k: render(v, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, ctx) for v in value]
    return value


class ScenarioRunner:
    def __init__(self, driver: StackDriver, *, leave_active: bool = True) -> None:
        """``leave_active=False`` deactivates the scenario's workflows when it ends, so that a
        shared stack is not left polling or holding Caspio webhooks (``careflow run --url``)."""
        self.driver = driver
        self.leave_active = leave_active

    # public --------------------------------------------------------------------------------
    def run(self, scenario: Scenario) -> ScenarioResult:
        started = time.perf_counter()
        result = ScenarioResult(scenario)
        ctx: dict[str, Any] = {
            "stack": self.driver.info,
            "workflows": {},
            "saved": {},
            "leads": {},  # lead id -> correlation ids of the steps that created/changed it
        }
        try:
            try:
                self._setup(scenario, ctx)
                for index, step in enumerate(scenario.steps):
                    where = f"step {index + 1} ({step.action})"
                    self._step(step, ctx, result, where)
                    if result.failures:
                        break
                if not result.failures:
                    for index, exp in enumerate(scenario.expect):
                        self._expect(exp, ctx, result, f"expect {index + 1} ({exp.kind})")
            except (DriverError, KeyError, ValueError) as exc:
                result.failures.append(Failure("setup/step", f"{type(exc).__name__}: {exc}"))
            result.timeline = collect(self.driver, ctx["leads"])
        finally:  # Ctrl-C included: a shared stack is never left with the scenario's workflows
            if not self.leave_active:
                self._deactivate(ctx["workflows"].values())
        result.seconds = time.perf_counter() - started
        return result

    # setup ---------------------------------------------------------------------------------
    def _setup(self, scenario: Scenario, ctx: dict[str, Any]) -> None:
        d = self.driver
        # Every scenario starts from a clean stack, whoever ran before it on the same servers:
        # an empty engine, seeded fakes, real time unless the scenario sets the clock.
        d.reset_all()
        if not (scenario.clock.set or scenario.clock.frozen):
            d.move_clock(reset=True)
        if scenario.clock.set or scenario.clock.frozen:
            body: dict[str, Any] = {"frozen": scenario.clock.frozen}
            if scenario.clock.set:
                body["set"] = scenario.clock.set
            d.move_clock(**body)
            d.reset_fakes()  # re-seed relative to the scenario's clock
        for auth in scenario.authentications:
            d.create_authentication(auth.name, auth.app, self._credentials(auth, ctx))
        for wf in scenario.workflows:
            definition = wf.definition or self._load_file(scenario, wf.file or "")
            created = d.create_workflow(definition)  # engine templates: never rendered here
            ctx["workflows"][wf.id] = created["id"]
            if wf.activate:
                d.workflow_action(created["id"], "activate")
        for kind in dict.fromkeys(e.kind for e in self._all_expectations(scenario)):
            before = CHECKS[kind].before  # e.g. where a meter starts
            if before is not None:
                before(d, ctx)

    def _deactivate(self, workflow_ids: Any) -> None:
        for workflow_id in workflow_ids:
            try:
                if self.driver.engine("GET", f"/api/workflows/{workflow_id}").status_code == 200:
                    self.driver.workflow_action(workflow_id, "deactivate")
            except DriverError:
                pass  # deleted by the scenario, or already inactive
        self.driver.settle()

    def _credentials(self, auth: Any, ctx: dict[str, Any]) -> dict[str, Any]:
        """The stack's demo credentials of the app (as its ``key`` picks), then the file's."""
        base = dict(self.driver.info.get(auth.app) or {})  # none for http
        if auth.app in KEYS:
            base = KEYS[auth.app].apply(base, auth.key)
        return {**base, **render(auth.credentials, ctx)}

    @staticmethod
    def _load_file(scenario: Scenario, name: str) -> dict[str, Any]:
        root = Path(scenario.path).parent if scenario.path else Path.cwd()
        return yaml.safe_load((root / name).read_text())

    @staticmethod
    def _all_expectations(scenario: Scenario) -> list[Expectation]:
        inline = [e for s in scenario.steps if s.expect for e in s.expect]
        return [*inline, *scenario.expect]

    # steps ---------------------------------------------------------------------------------
    def _step(self, step: Step, ctx: dict[str, Any], result: ScenarioResult, where: str) -> None:
        d = self.driver
        definition = STEPS[step.action]

        def expect(exp: Expectation, label: str) -> None:
            self._expect(exp, ctx, result, f"{where}, {label}")

        scope = StepContext(d, ctx, expect=expect)
        if definition.raw:
            definition.run(scope, step.params)
            return
        params = render(step.params, ctx)
        scope.cid = d.new_correlation_id()
        saved = definition.run(scope, params)
        d.settle()
        if step.as_:
            ctx[step.as_] = saved
            ctx["saved"][step.as_] = saved

    # expectations --------------------------------------------------------------------------
    def _expect(
        self, exp: Expectation, ctx: dict[str, Any], result: ScenarioResult, where: str
    ) -> None:
        params = render(exp.params, ctx)
        budget = seconds(exp.within)
        result.checks += 1
        while True:
            self.driver.settle()
            try:
                outcome = CHECKS[exp.kind].run(self.driver, params, ctx)
            except (DriverError, KeyError) as exc:
                outcome = Outcome(False, params, f"{type(exc).__name__}: {exc}")
            if outcome.ok or budget <= 0:
                break
            step = min(TICK_SECONDS, budget)
            self.driver.move_clock(advance_seconds=step)
            budget -= step
        if not outcome.ok:
            within = f" within {exp.within}" if budget == 0 and exp.within else ""
            result.failures.append(
                Failure(where, f"{exp.kind} did not hold{within}", outcome.expected, outcome.actual)
            )
