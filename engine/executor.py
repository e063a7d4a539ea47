"""Part three of the engine, its executor: advance a run one step at a time, retry a failing step
with backoff, follow what a step directs (skip the rest, insert a path's steps, wake at an
instant), and run one step for real with sample data (``test_step``).

Every step's progress is committed before the next begins. The executor knows no action by name:
what an action is and does comes from its connector class (``local``, ``render``, ``Directed``).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import httpx

from careflow.clock import format_instant, next_order

from .connectors import (
    ACTIONS,
    Context,
    Directive,
    InsertSteps,
    SkipRest,
    StepError,
    WakeAt,
    directed,
)
from .connectors.base import validate_params
from .model import StepDef, WorkflowDef, all_steps
from .own_writes import remember_written
from .runs import Runs, step_record
from .secrets import mask
from .shared import NotFound, Shared
from .templating import TemplateProblem, render
from .workflows import Workflows

MAX_RETRIES = 5  # [C] keragon.md §6: a failing step is retried up to 5 times


def backoff_seconds(
    attempt: int, retry_after: float | datetime | None, now: datetime | None = None
) -> float:
    """Exponential backoff (2, 4, 8 ... seconds, at most 300), or longer when the vendor's
    ``Retry-After`` asks for it (seconds, or an instant measured against ``now`` — the engine's
    virtual clock)."""
    if isinstance(retry_after, datetime):
        retry_after = (retry_after - now).total_seconds() if now else None
    exponential = min(2.0 ** min(max(attempt, 1), 9), 300.0)  # 2 * 2^(attempt-1), in [2, 300]
    return max(exponential, retry_after or 0)


def mask_credentials(params: dict[str, Any]) -> dict[str, Any]:
    return mask(params) if any(k in params for k in ("token", "password", "secret")) else params


class Executor:
    def __init__(self, shared: Shared, workflows: Workflows, runs: Runs) -> None:
        self.shared = shared
        self.workflows = workflows
        self.runs = runs

    async def advance(self, run_id: str) -> int:
        """Run a run's steps until it ends or waits; commit after every step (consecutive local
        steps, which compute in-process and are run again after a crash, commit together). The
        run's record is read once; after each step only its status is (a cancel may have
        landed)."""
        ran = 0
        store = self.shared.store
        row = store.one("SELECT * FROM runs WHERE id = ?", run_id)
        if row is None:
            return ran
        data = json.loads(row["data"])
        status, wake_at = row["status"], row["wake_at"]
        unsaved = False  # local steps ran since the last commit
        seen = store.interventions
        try:
            workflow: WorkflowDef | None = self.workflows.workflow(row["workflow_id"])
        except NotFound:
            workflow = None  # the step ends the run as Terminated
        while True:
            if status != "Running" or (wake_at and wake_at > self.shared.now()):
                if unsaved:
                    self.runs.save(run_id, data)
                return ran
            index = next(
                (
                    i
                    for i, s in enumerate(data["steps"])
                    if s["status"] not in ("Completed", "Skipped")
                ),
                None,
            )
            if index is None:
                self.runs.finish(run_id, data, "Completed")
                return ran
            ran += 1
            unsaved = await self.run_step(row, data, index, workflow)
            if unsaved and store.interventions == seen:
                continue  # a local step sets no wait, and no run's status was changed meanwhile
            seen = store.interventions
            fresh = store.one("SELECT status, wake_at FROM runs WHERE id = ?", run_id)
            if fresh is None:
                return ran
            status, wake_at = fresh["status"], fresh["wake_at"]

    async def run_step(
        self, row: Any, data: dict[str, Any], index: int, workflow: WorkflowDef | None = None
    ) -> bool:
        """Run the step at ``index``; True when its record is left for the caller to commit (a
        local step followed by another local step, or by the end of the run)."""
        step_rec = data["steps"][index]
        step = StepDef.model_validate(step_rec["def"])
        try:
            workflow = workflow or self.workflows.workflow(row["workflow_id"])
        except NotFound:
            self.runs.finish(row["id"], data, "Terminated")
            return False
        step_rec.update(
            status="Running",
            attempts=step_rec["attempts"] + 1,
            started_at=step_rec.get("started_at") or self.shared.now(),
            order=step_rec.get("order") or next_order(),
        )
        action_cls = ACTIONS.get((step.app, step.action))
        if action_cls is None or not action_cls.local:
            self.runs.save(row["id"], data)  # a step is recorded as started before it runs
        ctx = self.workflows.context(
            row["workflow_id"],
            workflow,
            None,
            run_id=row["id"],
            step_id=step.id,
            correlation_id=row["correlation_id"],
        )
        context = {
            "trigger": data["trigger"],
            "steps": {k: {"output": v} for k, v in data["outputs"].items()},
        }
        try:
            ctx.credentials = self.workflows.credentials(step.auth)
            params = self.params(step, context)
            step_rec["input"] = mask_credentials(params)
            output, directive = directed(await self.invoke(step, ctx, params))
        except StepError as exc:
            self._failed(row, data, step_rec, ctx, exc)
            return False
        self._record_usage(step_rec, data, ctx)
        remember_written(self.shared, row["workflow_id"], workflow, step, output)
        step_rec.update(
            status="Completed",
            output=output,
            error=None,
            ended_at=self.shared.now(),
            notes=ctx.notes,
        )
        step_rec.pop("next_attempt_at", None)
        data["outputs"][step.id] = output
        wake = _follow(directive, data, index)
        if wake is None and action_cls is not None and action_cls.local and _next_is_local(data):
            return True
        self.runs.save(row["id"], data, wake_at=wake)
        return False

    def _failed(
        self, row: Any, data: dict[str, Any], step_rec: dict[str, Any], ctx: Context, exc: StepError
    ) -> None:
        """A retryable failure waits its backoff (up to ``MAX_RETRIES`` times); any other ends
        the run Failed."""
        self._record_usage(step_rec, data, ctx)
        step_rec["error"] = str(exc)
        step_rec["notes"] = ctx.notes  # e.g. which Ours key a failed call used
        if not (exc.retryable and step_rec["attempts"] <= MAX_RETRIES):
            step_rec.update(status="Failed", ended_at=self.shared.now())
            self.runs.finish(row["id"], data, "Failed")
            return
        step_rec["status"] = "Retrying"
        now = self.shared.clock.now()
        wake = format_instant(
            now + timedelta(seconds=backoff_seconds(step_rec["attempts"], exc.retry_after, now))
        )
        step_rec["next_attempt_at"] = wake
        self.runs.save(row["id"], data, wake_at=wake)
        store = self.shared.store
        with store.tx() as conn:
            store.audit(
                conn,
                self.shared.now(),
                "engine",
                "step.retry_scheduled",
                row["id"],
                {"step": step_rec["id"], "attempt": step_rec["attempts"], "next_attempt_at": wake},
            )

    async def test_step(
        self, workflow_id: str, step_id: str, sample: dict[str, Any]
    ) -> dict[str, Any]:
        """Run one step for real with sample data, as Keragon's builder does."""
        workflow = self.workflows.workflow(workflow_id)
        step = next((s for s in all_steps(workflow.steps) if s.id == step_id), None)
        if step is None:
            raise NotFound(f"workflow {workflow_id!r} has no step {step_id!r}")
        context = {"trigger": sample.get("trigger", {}), "steps": sample.get("steps", {})}
        ctx = self.workflows.context(workflow_id, workflow, step.auth, step_id=step_id)
        try:
            output, _directive = directed(await self.invoke(step, ctx, self.params(step, context)))
            return {"output": output, "error": None, "usage": ctx.usage, "notes": ctx.notes}
        except StepError as exc:
            return {"output": None, "error": str(exc), "usage": ctx.usage, "notes": ctx.notes}

    @staticmethod
    def params(step: StepDef, context: dict[str, Any]) -> dict[str, Any]:
        """The step's params rendered against the run's data, as its action renders them."""
        action_cls = ACTIONS.get((step.app, step.action))
        try:
            if action_cls is None:
                return render(step.params, context)  # reported as an unknown action next
            return action_cls.render(step.params, context)
        except TemplateProblem as exc:
            raise StepError(f"step {step.id!r}: {exc}", retryable=False) from exc

    @staticmethod
    async def invoke(step: StepDef, ctx: Context, params: dict[str, Any]) -> Any:
        action_cls = ACTIONS.get((step.app, step.action))
        if action_cls is None:
            raise StepError(f"unknown action {step.app}/{step.action}", retryable=False)
        validated = validate_params(action_cls.Params, params)
        try:
            return await action_cls().run(ctx, validated)
        except StepError:
            raise
        except httpx.HTTPError as exc:  # transient: retried
            raise StepError(f"{type(exc).__name__}: {exc}") from exc
        except (ValueError, KeyError, TypeError) as exc:
            # a logic error (e.g. "abc" greater than 5) fails the same way every time: retries
            # are for transient vendor/HTTP failures only
            raise StepError(f"{type(exc).__name__}: {exc}", retryable=False) from exc

    @staticmethod
    def _record_usage(step_rec: dict[str, Any], data: dict[str, Any], ctx: Context) -> None:
        usage = step_rec.setdefault("usage", {})
        for meter, n in ctx.usage.items():
            usage[meter] = usage.get(meter, 0) + n
            data["usage"][meter] = data["usage"].get(meter, 0) + n


def _next_is_local(data: dict[str, Any]) -> bool:
    """Is the run's next step local, or is there none (the run's end commits it)?"""
    for step in data["steps"]:
        if step["status"] not in ("Completed", "Skipped"):
            action_cls = ACTIONS.get((step["app"], step["action"]))
            return action_cls is not None and action_cls.local
    return True


def _follow(directive: Directive | None, data: dict[str, Any], index: int) -> str | None:
    """Apply what the step at ``index`` directed to the run's steps; return its wake time."""
    match directive:
        case SkipRest():
            for later in data["steps"][index + 1 :]:
                later["status"] = "Skipped"
        case InsertSteps(steps=steps):
            inserted = [step_record(StepDef.model_validate(s)) for s in steps]
            data["steps"][index + 1 : index + 1] = inserted
        case WakeAt(until=until):
            return format_instant(until)
    return None
