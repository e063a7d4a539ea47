"""Part two of the engine: triggers. Their lifecycle with the workflow (activate, deactivate, a
saved change, delete), the polls and schedules that fall due on the clock, webhooks posted to
``/hooks/{workflow_id}``, and ``test-trigger``. What a trigger yields becomes runs through
``Runs.accept``.
"""

from __future__ import annotations

import contextlib
from typing import Any

from careflow.clock import format_instant

from .connectors import StepError
from .connectors.base import validate_params
from .model import WorkflowDef, load_workflow
from .own_writes import not_own
from .runs import Runs
from .shared import Conflict, Shared
from .workflows import Workflows, trigger_of


class Triggers:
    def __init__(self, shared: Shared, workflows: Workflows, runs: Runs) -> None:
        self.shared = shared
        self.store = shared.store
        self.workflows = workflows
        self.runs = runs

    # lifecycle ------------------------------------------------------------------------------
    async def activate(self, workflow_id: str) -> dict[str, Any]:
        row = self.workflows.row(workflow_id)
        if row["status"] != "active":
            try:
                await self._call(workflow_id, "activate")
            except StepError as exc:
                raise Conflict(f"the trigger could not be activated: {exc}") from exc
            self.workflows.set_status(workflow_id, "active", "workflow.activated")
        return self.workflows.workflow_dict(workflow_id)

    async def deactivate(self, workflow_id: str) -> dict[str, Any]:
        row = self.workflows.row(workflow_id)
        if row["status"] == "active":
            with contextlib.suppress(StepError):
                await self._call(workflow_id, "deactivate")
            self.workflows.set_status(workflow_id, "inactive", "workflow.deactivated")
        return self.workflows.workflow_dict(workflow_id)

    async def update_workflow(
        self, workflow_id: str, data: Any, text: str | None = None
    ) -> dict[str, Any]:
        """Save a new definition; an active workflow whose trigger changed is deactivated
        (its old trigger torn down) and activated again with the new one."""
        row = self.workflows.row(workflow_id)
        old = WorkflowDef.model_validate_json(row["definition"])
        workflow = load_workflow(data, text)
        was_active = row["status"] == "active"
        if was_active and old.trigger.model_dump() != workflow.trigger.model_dump():
            await self.deactivate(workflow_id)
        self.workflows.save(workflow_id, old, workflow)
        if was_active and self.workflows.row(workflow_id)["status"] != "active":
            await self.activate(workflow_id)
        return self.workflows.workflow_dict(workflow_id)

    async def delete_workflow(self, workflow_id: str) -> None:
        row = self.workflows.row(workflow_id)
        if row["status"] == "active":
            with contextlib.suppress(StepError):
                await self._call(workflow_id, "delete")
        self.workflows.delete(workflow_id)

    async def _call(self, workflow_id: str, method: str) -> None:
        """Call the trigger's ``activate``/``deactivate``/``delete``; keep its state and, after
        activating, when it is next due."""
        row = self.workflows.row(workflow_id)
        workflow = WorkflowDef.model_validate_json(row["definition"])
        trigger = trigger_of(workflow)
        state = self.shared.vault.open_secrets(row["trigger_state"])
        next_at = None
        usage: dict[str, int] = {}
        if trigger is not None:
            ctx = self.workflows.context(workflow_id, workflow, workflow.trigger.auth, state=state)
            params = validate_params(trigger.Params, workflow.trigger.params)
            await getattr(trigger, method)(ctx, params)
            state, usage = ctx.state, ctx.usage
            if method == "activate":
                due = trigger.next_due(params, self.shared.clock.now())
                next_at = format_instant(due) if due else None
        with self.store.tx() as conn:
            conn.execute(
                "UPDATE workflows SET trigger_state = ?, next_at = ? WHERE id = ?",
                (self.shared.vault.seal_secrets(state), next_at, workflow_id),
            )
            if usage:  # e.g. the Caspio calls that created the webhook (they count on its meter)
                self.store.audit(
                    conn,
                    self.shared.now(),
                    "engine",
                    f"trigger.{method}",
                    workflow_id,
                    {"usage": usage},
                )

    # events ---------------------------------------------------------------------------------
    async def fire_due(self) -> None:
        """Poll the pollers and fire the schedules that are due on the clock now."""
        now = self.shared.now()
        for row in self.store.all(
            "SELECT * FROM workflows WHERE status = 'active' AND"
            " next_at IS NOT NULL AND next_at <= ?",
            now,
        ):
            workflow = WorkflowDef.model_validate_json(row["definition"])
            trigger = trigger_of(workflow)
            if trigger is None:
                continue
            params = validate_params(trigger.Params, workflow.trigger.params)
            state = self.shared.vault.open_secrets(row["trigger_state"])
            records: list[dict[str, Any]] = []
            if trigger.kind == "poll":
                ctx = self.workflows.context(
                    row["id"], workflow, workflow.trigger.auth, state=state
                )
                with contextlib.suppress(StepError):
                    records = await trigger.poll(ctx, params)
                state = ctx.state
                records, keys = not_own(trigger, records, state)
            else:  # a schedule: one run per fire time
                records = [{"scheduled_for": row["next_at"], "fired_at": now}]
                keys = [f"schedule:{row['next_at']}"]
            due = trigger.next_due(params, self.shared.clock.now())
            with self.store.tx() as conn:
                conn.execute(
                    "UPDATE workflows SET trigger_state = ?, next_at = ? WHERE id = ?",
                    (
                        self.shared.vault.seal_secrets(state),
                        format_instant(due) if due else None,
                        row["id"],
                    ),
                )
            if records:
                self.runs.accept(row["id"], records, keys=keys, source=trigger.kind)

    async def receive_hook(self, workflow_id: str, body: Any, headers: dict[str, str]) -> list[str]:
        row = self.workflows.row(workflow_id)
        if row["status"] != "active":
            raise Conflict(f"workflow {workflow_id!r} is {row['status']}; activate it first")
        workflow = WorkflowDef.model_validate_json(row["definition"])
        trigger = trigger_of(workflow)
        cid = headers.get("x-request-id")
        if trigger is None:  # app: webhook — the posted JSON is the trigger payload
            # the idempotency key of a plain webhook: Idempotency-Key, else X-Request-ID
            key = headers.get("idempotency-key") or cid
            return self.runs.accept(
                workflow_id,
                [body if isinstance(body, dict) else {"body": body}],
                correlation_id=cid,
                keys=[key],
                source="webhook",
            )
        ctx = self.workflows.context(
            workflow_id, workflow, None, state=self.shared.vault.open_secrets(row["trigger_state"])
        )
        records = trigger.receive(
            ctx, validate_params(trigger.Params, workflow.trigger.params), body, headers
        )
        records, keys = not_own(trigger, records, ctx.state)
        return self.runs.accept(
            workflow_id, records, correlation_id=cid, keys=keys, source="webhook"
        )

    async def test_trigger(self, workflow_id: str) -> list[dict[str, Any]]:
        row = self.workflows.row(workflow_id)
        workflow = WorkflowDef.model_validate_json(row["definition"])
        trigger = trigger_of(workflow)
        if trigger is None:
            return []
        state = self.shared.vault.open_secrets(row["trigger_state"])
        ctx = self.workflows.context(workflow_id, workflow, workflow.trigger.auth, state=state)
        return await trigger.sample(ctx, validate_params(trigger.Params, workflow.trigger.params))
