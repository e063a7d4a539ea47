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
from .expectations import CHECKS, Outcome, caspio_meter_used
from .format import Expectation, Scenario, Step, seconds
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
        if any(e.kind == "meter" for e in self._all_expectations(scenario)):
            ctx["meter_start"] = caspio_meter_used(d)

    def _deactivate(self, workflow_ids: Any) -> None:
        for workflow_id in workflow_ids:
            try:
                if self.driver.engine("GET", f"/api/workflows/{workflow_id}").status_code == 200:
                    self.driver.workflow_action(workflow_id, "deactivate")
            except DriverError:
                pass  # deleted by the scenario, or already inactive
        self.driver.settle()

    def _credentials(self, auth: Any, ctx: dict[str, Any]) -> dict[str, Any]:
        info = self.driver.info
        if auth.app == "http":
            return render(auth.credentials, ctx)
        base = dict(info[auth.app])
        if auth.app == "ours":
            if auth.key == "test":
                base = {"url": base["url"], "token": base["test_token"], "mode": "test"}
            else:
                base = {"url": base["url"], "token": base["token"]}
        elif auth.app == "whatconverts" and auth.key == "master":
            base = {**base, "api_token": base["master_token"], "api_secret": base["master_secret"]}
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
        action = step.action
        if action == "expect":
            for i, exp in enumerate(step.expect or []):
                self._expect(exp, ctx, result, f"{where}, expectation {i + 1} ({exp.kind})")
            return
        params = render(step.params, ctx)
        cid = d.new_correlation_id()
        saved: Any = None
        if action == "create_lead":
            saved = d.create_lead(params, cid)
            ctx["leads"].setdefault(str(saved.get("lead_id")), []).append(cid)
        elif action == "update_lead":
            params = dict(params)
            lead_id = params.pop("id")
            ctx["leads"].setdefault(str(lead_id), []).append(cid)
            want = params.pop("status", 200)
            response = d.update_lead(lead_id, params, cid)
            saved = {"status": response.status_code, "body": response.json()}
            if response.status_code != want:
                raise DriverError(
                    f"update_lead answered {response.status_code}, expected {want}:"
                    f" {response.text[:300]}"
                )
        elif action == "insert_record":
            response = d.caspio(
                "POST",
                f"/tables/{params['table']}/records",
                params={"response": "rows"},
                json=params["record"],
                correlation_id=cid,
            )
            if response.status_code != 201:
                raise DriverError(f"Caspio insert answered {response.status_code}: {response.text}")
            body = response.json() if response.content else {}
            saved = (body.get("Result") or [params["record"]])[0]
        elif action == "update_records":
            response = d.caspio(
                "PUT",
                f"/tables/{params['table']}/records",
                params={"q.where": params["where"]},
                json=params["values"],
                correlation_id=cid,
            )
            if response.status_code != 200:
                raise DriverError(f"Caspio update answered {response.status_code}: {response.text}")
            saved = response.json()
        elif action == "delete_records":
            response = d.caspio(
                "DELETE",
                f"/tables/{params['table']}/records",
                params={"q.where": params["where"]},
                correlation_id=cid,
            )
            saved = response.json() if response.content else None
        elif action in ("track", "identify"):
            params = dict(params)
            body = {"token": d.ours_token(params.pop("key", "live")), **params}
            response = d.call("ours", "POST", f"/api/v1/{action}", json=body, correlation_id=cid)
            saved = response.json()
            if response.status_code != 200:
                raise DriverError(f"Ours /{action} answered {response.status_code}: {saved}")
        elif action == "request":
            saved = self._request(params, cid)
        elif action == "advance":
            d.move_clock(advance_seconds=seconds(params))
        elif action == "set_clock":
            d.move_clock(set=params)
        elif action == "fault":
            params = dict(params)
            d.admin(params.pop("service"), "POST", "/faults", json=params)
        elif action == "clear_faults":
            d.admin(params, "DELETE", "/faults")
        elif action == "seed":
            d.admin(params["service"], "POST", "/seed", json=params["body"])
            d.settle()
        elif action in ("activate", "deactivate"):
            d.workflow_action(ctx["workflows"][params], action)
        elif action == "delete_workflow":
            d.engine("DELETE", f"/api/workflows/{ctx['workflows'][params]}", expect=(200, 204))
        elif action == "update_workflow":
            d.engine(
                "PUT",
                f"/api/workflows/{ctx['workflows'][params['workflow']]}",
                json=params["definition"],
                expect=200,
            )
        elif action == "retry_run":
            runs = d.runs(ctx["workflows"][params["workflow"]], params.get("status", "Failed"))
            if not runs:
                raise DriverError(f"no {params.get('status', 'Failed')} run to retry")
            saved = d.engine("POST", f"/api/runs/{runs[0]['id']}/retry", expect=201).json()
        elif action == "delete_caspio_webhook":
            self._delete_caspio_webhooks(params)
        elif action == "delete_caspio_profile":
            d.admin("caspio", "DELETE", f"/profiles/{params['name']}")
            d._caspio_token = None
        elif action == "cleanup_orphans":
            # The profile is gone, so no API key can reach these webhooks any more; in Caspio
            # they are removed by hand, here through the fake's admin (as `careflow caspio
            # orphans --clean` does).
            saved = d.admin("caspio", "DELETE", "/orphans")
        elif action == "run_scheduler":
            d.move_clock(advance_seconds=0)
        d.settle()
        if step.as_:
            ctx[step.as_] = saved
            ctx["saved"][step.as_] = saved

    def _request(self, p: dict[str, Any], cid: str) -> Any:
        d = self.driver
        auth = p.get("auth")
        kwargs: dict[str, Any] = {k: p[k] for k in ("json", "data", "params", "headers") if k in p}
        if auth in ("whatconverts", "whatconverts_master"):
            kwargs["auth"] = d.wc_auth("master" if auth.endswith("master") else "profile")
        elif auth == "caspio":
            kwargs.setdefault("headers", {})["Authorization"] = f"Bearer {d.caspio_token()}"
        response = d.call(
            p["service"], p.get("method", "GET"), p["path"], correlation_id=cid, **kwargs
        )
        if "status" in p and response.status_code != p["status"]:
            raise DriverError(
                f"{p.get('method', 'GET')} {p['service']}{p['path']} answered "
                f"{response.status_code}, expected {p['status']}: {response.text[:300]}"
            )
        return {
            "status": response.status_code,
            "body": response.json() if response.content else None,
        }

    def _delete_caspio_webhooks(self, p: dict[str, Any]) -> None:
        body = self.driver.caspio("GET", "/outgoingWebhooks").json()
        hooks = body.get("Result", body) if isinstance(body, dict) else body
        for hook in hooks:
            if p.get("name") in (None, hook["Name"]):
                self.driver.caspio("DELETE", f"/outgoingWebhooks/{hook['Id']}")

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
                outcome = CHECKS[exp.kind](self.driver, params, ctx)
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
