"""The ``Engine``: workflows, authentications, trigger events, runs, retries, audit.

Runs execute on the engine's event loop, one step at a time; every step's progress is committed
before the next begins. Waiting (Delay steps, retry backoff) is a ``wake_at`` on the virtual
clock: moving the clock releases what became due, and ``run_until_idle()`` drives everything
that is due now (polls, schedules, runs) until nothing is left to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from tenacity import RetryCallState, wait_exponential

from careflow.clock import VirtualClock

from . import connectors  # noqa: F401  (registers every connector)
from .clock import Clock
from .connectors import ACTIONS, TRIGGERS, Context, StepError, Trigger
from .connectors.base import validate_params
from .model import StepDef, WorkflowDef, WorkflowInvalid, load_workflow
from .secrets import Vault, load_key, mask
from .store import Store
from .templating import TemplateProblem, render

MAX_RETRIES = 5  # [C] keragon.md §6: a failing step is retried up to 5 times
RETENTION = timedelta(days=7)  # [C] keragon.md §6: run data kept 7 days only
BACKOFF = wait_exponential(multiplier=2, min=2, max=300)
FINAL = ("Completed", "Failed", "Canceled", "Terminated")
OWN_WRITES = "own_writes"  # trigger state: dedup keys of records this workflow's steps wrote
OWN_WRITES_MAX = 500


class NotFound(LookupError):
    pass


class Conflict(ValueError):
    pass


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(6)}"


def backoff_seconds(
    attempt: int, retry_after: float | datetime | None, now: datetime | None = None
) -> float:
    """Exponential backoff, or longer when the vendor's ``Retry-After`` asks for it (seconds, or
    an instant measured against ``now`` — the engine's virtual clock)."""
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    state.attempt_number = attempt
    if isinstance(retry_after, datetime):
        retry_after = (retry_after - now).total_seconds() if now else None
    return max(BACKOFF(state), retry_after or 0)


class Engine:
    def __init__(
        self,
        *,
        clock: Clock | None = None,
        http: httpx.AsyncClient | None = None,
        data_dir: str | Path | None = None,
        engine_url: str = "http://127.0.0.1:8400",
        allow_remote: bool = False,
        secret_key: bytes | None = None,
    ) -> None:
        self.clock = clock or VirtualClock()
        self.http = http or httpx.AsyncClient(timeout=30)
        self.data_dir = Path(data_dir) if data_dir else None
        if self.data_dir:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        self.engine_url = engine_url
        self.allow_remote = allow_remote
        self.store = Store(self.data_dir / "engine.sqlite" if self.data_dir else None)
        self.vault = Vault(secret_key or load_key(self.data_dir))
        self._lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._again = False
        self._recover()
        self.clock.subscribe(self._on_clock_moved)

    def now(self) -> str:
        return iso(self.clock.now())

    # authentications ------------------------------------------------------------------------
    def create_authentication(
        self, name: str, app: str, credentials: dict[str, Any], actor: str = "api"
    ) -> dict[str, Any]:
        if not name or not isinstance(credentials, dict):
            raise ValueError("an authentication needs a name and a credentials object")
        if self.store.one("SELECT 1 FROM authentications WHERE name = ?", name):
            raise Conflict(f"an authentication named {name!r} exists")
        auth_id = new_id("auth")
        with self.store.tx() as conn:
            conn.execute(
                "INSERT INTO authentications VALUES (?, ?, ?, ?, ?)",
                (auth_id, name, app, self.vault.seal(credentials), self.now()),
            )
            self.store.audit(
                conn,
                self.now(),
                actor,
                "authentication.created",
                auth_id,
                {"name": name, "app": app, "credentials": mask(credentials)},
            )
        return {"id": auth_id, "name": name, "app": app}

    def list_authentications(self) -> list[dict[str, Any]]:
        rows = self.store.all(
            "SELECT id, name, app, created_at FROM authentications ORDER BY rowid"
        )
        return [dict(r) for r in rows]

    def delete_authentication(self, auth_id: str) -> None:
        with self.store.tx() as conn:
            if not conn.execute(
                "DELETE FROM authentications WHERE id = ? OR name = ?", (auth_id, auth_id)
            ).rowcount:
                raise NotFound(f"no authentication {auth_id!r}")
            self.store.audit(conn, self.now(), "api", "authentication.deleted", auth_id, {})

    def credentials(self, name: str | None) -> dict[str, Any]:
        if not name:
            return {}
        row = self.store.one(
            "SELECT secret FROM authentications WHERE name = ? OR id = ?", name, name
        )
        if row is None:
            raise StepError(f"no authentication named {name!r}", retryable=False)
        return self.vault.open(row["secret"])

    # workflows ------------------------------------------------------------------------------
    def _workflow_row(self, workflow_id: str) -> Any:
        row = self.store.one("SELECT * FROM workflows WHERE id = ?", workflow_id)
        if row is None:
            raise NotFound(f"no workflow {workflow_id!r}")
        return row

    def workflow(self, workflow_id: str) -> WorkflowDef:
        return WorkflowDef.model_validate_json(self._workflow_row(workflow_id)["definition"])

    def workflow_dict(self, workflow_id: str) -> dict[str, Any]:
        row = self._workflow_row(workflow_id)
        return {
            "id": row["id"],
            "name": row["name"],
            "status": row["status"],
            "version": row["version"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
            **json.loads(row["definition"]),
        }

    def list_workflows(self) -> list[dict[str, Any]]:
        return [
            self.workflow_dict(r["id"])
            for r in self.store.all("SELECT id FROM workflows ORDER BY rowid")
        ]

    def create_workflow(self, data: Any, text: str | None = None) -> dict[str, Any]:
        workflow = load_workflow(data, text)
        workflow_id = new_id("wf")
        now = self.now()
        with self.store.tx() as conn:
            conn.execute(
                "INSERT INTO workflows (id, name, status, version, definition, created_at,"
                " updated_at) VALUES (?, ?, 'draft', 1, ?, ?, ?)",
                (workflow_id, workflow.name, workflow.model_dump_json(), now, now),
            )
            self.store.audit(
                conn,
                now,
                "api",
                "workflow.created",
                workflow_id,
                {"name": workflow.name, "steps": workflow.structure()},
            )
        return self.workflow_dict(workflow_id)

    async def update_workflow(
        self, workflow_id: str, data: Any, text: str | None = None
    ) -> dict[str, Any]:
        row = self._workflow_row(workflow_id)
        old = WorkflowDef.model_validate_json(row["definition"])
        workflow = load_workflow(data, text)
        structural = (
            old.structure() != workflow.structure()
            or old.trigger.model_dump() != workflow.trigger.model_dump()
        )
        was_active = row["status"] == "active"
        if was_active and old.trigger.model_dump() != workflow.trigger.model_dump():
            await self.deactivate(workflow_id)
        with self.store.tx() as conn:
            conn.execute(
                "UPDATE workflows SET name = ?, definition = ?, version = version + ?,"
                " updated_at = ? WHERE id = ?",
                (
                    workflow.name,
                    workflow.model_dump_json(),
                    int(structural),
                    self.now(),
                    workflow_id,
                ),
            )
            self.store.audit(
                conn,
                self.now(),
                "api",
                "workflow.updated",
                workflow_id,
                {"structural": structural, "steps": workflow.structure()},
            )
        if was_active and self._workflow_row(workflow_id)["status"] != "active":
            await self.activate(workflow_id)
        return self.workflow_dict(workflow_id)

    def _trigger(self, workflow: WorkflowDef) -> Trigger | None:
        cls = TRIGGERS.get((workflow.trigger.app, workflow.trigger.event or ""))
        return cls() if cls else None

    def _context(
        self, workflow_id: str, workflow: WorkflowDef, auth: str | None, **kwargs: Any
    ) -> Context:
        return Context(
            http=self.http,
            clock=self.clock,
            workflow_id=workflow_id,
            credentials=self.credentials(auth),
            auth_name=auth,
            engine_url=self.engine_url,
            workflow_name=workflow.name,
            allow_remote=self.allow_remote,
            **kwargs,
        )

    async def _trigger_call(self, workflow_id: str, method: str) -> None:
        row = self._workflow_row(workflow_id)
        workflow = WorkflowDef.model_validate_json(row["definition"])
        trigger = self._trigger(workflow)
        state = self.vault.open_secrets(row["trigger_state"])
        next_at = None
        usage: dict[str, int] = {}
        if trigger is not None:
            ctx = self._context(workflow_id, workflow, workflow.trigger.auth, state=state)
            params = validate_params(trigger.Params, workflow.trigger.params)
            await getattr(trigger, method)(ctx, params)
            state, usage = ctx.state, ctx.usage
            if method == "activate" and trigger.kind == "poll":
                next_at = iso(self.clock.now() + timedelta(seconds=trigger.poll_seconds))
            elif method == "activate" and trigger.kind == "schedule":
                fire = trigger.next_fire(params, self.clock.now())
                next_at = iso(fire) if fire else None
        with self.store.tx() as conn:
            conn.execute(
                "UPDATE workflows SET trigger_state = ?, next_at = ? WHERE id = ?",
                (self.vault.seal_secrets(state), next_at, workflow_id),
            )
            if usage:  # e.g. the Caspio calls that created the webhook (they count on its meter)
                self.store.audit(
                    conn, self.now(), "engine", f"trigger.{method}", workflow_id, {"usage": usage}
                )

    async def activate(self, workflow_id: str) -> dict[str, Any]:
        row = self._workflow_row(workflow_id)
        if row["status"] != "active":
            try:
                await self._trigger_call(workflow_id, "activate")
            except StepError as exc:
                raise Conflict(f"the trigger could not be activated: {exc}") from exc
            with self.store.tx() as conn:
                conn.execute(
                    "UPDATE workflows SET status = 'active', updated_at = ? WHERE id = ?",
                    (self.now(), workflow_id),
                )
                self.store.audit(conn, self.now(), "api", "workflow.activated", workflow_id, {})
        return self.workflow_dict(workflow_id)

    async def deactivate(self, workflow_id: str) -> dict[str, Any]:
        row = self._workflow_row(workflow_id)
        if row["status"] == "active":
            with contextlib.suppress(StepError):
                await self._trigger_call(workflow_id, "deactivate")
            with self.store.tx() as conn:
                conn.execute(
                    "UPDATE workflows SET status = 'inactive', next_at = NULL, updated_at = ?"
                    " WHERE id = ?",
                    (self.now(), workflow_id),
                )
                self.store.audit(conn, self.now(), "api", "workflow.deactivated", workflow_id, {})
        return self.workflow_dict(workflow_id)

    async def delete_workflow(self, workflow_id: str) -> None:
        row = self._workflow_row(workflow_id)
        if row["status"] == "active":
            with contextlib.suppress(StepError):
                await self._trigger_call(workflow_id, "delete")
        with self.store.tx() as conn:
            conn.execute("DELETE FROM workflows WHERE id = ?", (workflow_id,))
            conn.execute(
                "UPDATE runs SET status = 'Terminated', ended_at = ? WHERE"
                " workflow_id = ? AND status = 'Running'",
                (self.now(), workflow_id),
            )
            self.store.audit(conn, self.now(), "api", "workflow.deleted", workflow_id, {})

    async def test_trigger(self, workflow_id: str) -> list[dict[str, Any]]:
        workflow = self.workflow(workflow_id)
        trigger = self._trigger(workflow)
        if trigger is None:
            return []
        ctx = self._context(
            workflow_id,
            workflow,
            workflow.trigger.auth,
            state=self.vault.open_secrets(self._workflow_row(workflow_id)["trigger_state"]),
        )
        return await trigger.sample(ctx, validate_params(trigger.Params, workflow.trigger.params))

    async def test_step(
        self, workflow_id: str, step_id: str, sample: dict[str, Any]
    ) -> dict[str, Any]:
        """Run one step for real with sample data, as Keragon's builder does."""
        workflow = self.workflow(workflow_id)
        step = next((s for s in _flat(workflow.steps) if s.id == step_id), None)
        if step is None:
            raise NotFound(f"workflow {workflow_id!r} has no step {step_id!r}")
        context = {"trigger": sample.get("trigger", {}), "steps": sample.get("steps", {})}
        ctx = self._context(workflow_id, workflow, step.auth, step_id=step_id)
        try:
            output = await self._call(step, ctx, context)
            return {"output": output, "error": None, "usage": ctx.usage, "notes": ctx.notes}
        except StepError as exc:
            return {"output": None, "error": str(exc), "usage": ctx.usage, "notes": ctx.notes}

    # events ---------------------------------------------------------------------------------
    def accept(
        self,
        workflow_id: str,
        records: list[dict[str, Any]],
        *,
        correlation_id: str | None = None,
        keys: list[str | None] | None = None,
        source: str = "trigger",
    ) -> list[str]:
        """Commit trigger events (idempotent by key) and their runs; return the new event ids."""
        accepted = []
        now = self.now()
        with self.store.tx() as conn:
            for index, record in enumerate(records):
                key = (keys[index] if keys else None) or new_id("key")
                event_id = new_id("evt")
                inserted = conn.execute(
                    "INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        event_id,
                        workflow_id,
                        key,
                        json.dumps(record, default=str),
                        correlation_id,
                        now,
                    ),
                ).rowcount
                if not inserted:
                    continue  # seen before: no second run
                accepted.append(event_id)
                cid = correlation_id or event_id
                self._new_run(conn, workflow_id, record, cid, event_id=event_id)
                self.store.audit(
                    conn, now, source, "run.started", workflow_id, {"event_id": event_id}
                )
        if accepted:
            self.kick()
        return accepted

    async def receive_hook(self, workflow_id: str, body: Any, headers: dict[str, str]) -> list[str]:
        row = self._workflow_row(workflow_id)
        if row["status"] != "active":
            raise Conflict(f"workflow {workflow_id!r} is {row['status']}; activate it first")
        workflow = WorkflowDef.model_validate_json(row["definition"])
        trigger = self._trigger(workflow)
        cid = headers.get("x-request-id")
        if trigger is None:  # app: webhook — the posted JSON is the trigger payload
            # the idempotency key of a plain webhook: Idempotency-Key, else X-Request-ID
            key = headers.get("idempotency-key") or cid
            return self.accept(
                workflow_id,
                [body if isinstance(body, dict) else {"body": body}],
                correlation_id=cid,
                keys=[key],
                source="webhook",
            )
        ctx = self._context(
            workflow_id, workflow, None, state=self.vault.open_secrets(row["trigger_state"])
        )
        records = trigger.receive(
            ctx, validate_params(trigger.Params, workflow.trigger.params), body, headers
        )
        records, keys = _not_own(trigger, records, ctx.state)
        return self.accept(workflow_id, records, correlation_id=cid, keys=keys, source="webhook")

    # runs -----------------------------------------------------------------------------------
    def _new_run(
        self,
        conn: Any,
        workflow_id: str,
        record: dict[str, Any],
        cid: str,
        *,
        event_id: str | None = None,
        retry_of: str | None = None,
        steps: list[dict[str, Any]] | None = None,
        outputs: dict[str, Any] | None = None,
    ) -> str:
        workflow = WorkflowDef.model_validate_json(
            conn.execute(
                "SELECT definition FROM workflows WHERE id = ?", (workflow_id,)
            ).fetchone()["definition"]
        )
        run_id = new_id("run")
        data = {
            "trigger": record,
            "structure": workflow.structure(),
            "steps": steps if steps is not None else [_step_record(s) for s in workflow.steps],
            "outputs": outputs or {},
            "usage": {},
            "order": time.monotonic_ns(),  # timelines: same scale as the fakes' next_order()
        }
        conn.execute(
            "INSERT INTO runs (id, workflow_id, event_id, status, started_at, retry_of,"
            " correlation_id, data) VALUES (?, ?, ?, 'Running', ?, ?, ?, ?)",
            (run_id, workflow_id, event_id, self.now(), retry_of, cid, json.dumps(data)),
        )
        return run_id

    def run_dict(self, row: Any) -> dict[str, Any]:
        data = json.loads(row["data"])
        return {
            "id": row["id"],
            "workflow_id": row["workflow_id"],
            "status": row["status"],
            "started_at": row["started_at"],
            "ended_at": row["ended_at"],
            "retry_of": row["retry_of"],
            "correlation_id": row["correlation_id"],
            "event_id": row["event_id"],
            "wake_at": row["wake_at"],
            "usage": data["usage"],
            "order": data.get("order"),
            "trigger": data["trigger"],
            "steps": [{k: v for k, v in s.items() if k != "def"} for s in data["steps"]],
        }

    def get_run(self, run_id: str) -> dict[str, Any]:
        row = self.store.one("SELECT * FROM runs WHERE id = ?", run_id)
        if row is None:
            raise NotFound(f"no run {run_id!r}")
        return self.run_dict(row)

    def list_runs(
        self, workflow_id: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        sql, args = "SELECT * FROM runs WHERE 1=1", []
        if workflow_id:
            sql, args = sql + " AND workflow_id = ?", [*args, workflow_id]
        if status:
            sql, args = sql + " AND lower(status) = lower(?)", [*args, status]
        return [self.run_dict(r) for r in self.store.all(sql + " ORDER BY seq DESC", *args)]

    def cancel_run(self, run_id: str) -> dict[str, Any]:
        run = self.get_run(run_id)
        if run["status"] != "Running":
            raise Conflict(f"run {run_id} is {run['status']}; only a running run can be canceled")
        with self.store.tx() as conn:
            conn.execute(
                "UPDATE runs SET status = 'Canceled', ended_at = ?, wake_at = NULL WHERE id = ?",
                (self.now(), run_id),
            )
            self.store.audit(conn, self.now(), "api", "run.canceled", run_id, {})
        return self.get_run(run_id)

    def retry_run(self, run_id: str) -> dict[str, Any]:
        """[C] keragon.md §6: a new run from the failed step, with that step's *current*
        configuration; refused when steps were added or removed since."""
        row = self.store.one("SELECT * FROM runs WHERE id = ?", run_id)
        if row is None:
            raise NotFound(f"no run {run_id!r}")
        if row["status"] != "Failed":
            raise Conflict(f"run {run_id} is {row['status']}; only a failed run can be retried")
        data = json.loads(row["data"])
        workflow = self.workflow(row["workflow_id"])
        if workflow.structure() != data["structure"]:
            raise Conflict(
                "the workflow's steps were added or removed since this run "
                f"(then {data['structure']}, now {workflow.structure()}): retry is not "
                "possible; trigger the workflow from the beginning instead"
            )
        current = {s.id: s for s in _flat(workflow.steps)}
        steps = []
        for step in data["steps"]:
            if step["status"] in ("Completed",):
                steps.append(step)
            else:
                steps.append(_step_record(current[step["id"]]))
        with self.store.tx() as conn:
            new = self._new_run(
                conn,
                row["workflow_id"],
                data["trigger"],
                row["correlation_id"],
                event_id=row["event_id"],
                retry_of=run_id,
                steps=steps,
                outputs=data["outputs"],
            )
            self.store.audit(conn, self.now(), "api", "run.retried", run_id, {"new_run": new})
        self.kick()
        return self.get_run(new)

    def _recover(self) -> None:
        """After a crash: a step that was running when the process died is run again only if it
        has no side effects; otherwise its run fails cleanly (a manual retry can resume it), so
        nothing with side effects runs twice. Everything else resumes where it was."""
        for row in self.store.all("SELECT * FROM runs WHERE status = 'Running'"):
            data = json.loads(row["data"])
            for step in data["steps"]:
                if step["status"] != "Running":
                    continue
                action_cls = ACTIONS.get((step["app"], step["action"]))
                if action_cls is not None and not action_cls.side_effects:
                    step["status"] = "Pending"
                    self._save(row["id"], data)
                else:
                    step.update(
                        status="Failed",
                        ended_at=self.now(),
                        error=(
                            "interrupted by an engine restart while running; not run again "
                            "automatically so that its side effect cannot happen twice (retry the "
                            "run to resume it)"
                        ),
                    )
                    self._finish(row["id"], data, "Failed")

    # driving --------------------------------------------------------------------------------
    def kick(self) -> None:
        """Schedule ``run_until_idle`` on the engine's loop (coalesced)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = self._loop
            if loop is None or loop.is_closed():
                return
            loop.call_soon_threadsafe(self.kick)
            return
        self._loop = loop
        if any(not t.done() for t in self._tasks):
            self._again = True
            return
        task = loop.create_task(self.run_until_idle())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_clock_moved(self, _now: datetime) -> None:
        self.kick()

    async def run_until_idle(self, max_rounds: int = 10_000) -> int:
        """Do everything that is due on the clock now; return how many steps ran."""
        self._loop = asyncio.get_running_loop()
        done = 0
        async with self._lock:
            self._again = False
            self._purge()
            await self._due_triggers()
            for _ in range(max_rounds):
                now = self.now()
                rows = self.store.all(
                    "SELECT id FROM runs WHERE status = 'Running' AND"
                    " (wake_at IS NULL OR wake_at <= ?) ORDER BY seq",
                    now,
                )
                if not rows:
                    if self._again:
                        self._again = False
                        await self._due_triggers()
                        continue
                    break
                for row in rows:
                    done += await self._advance(row["id"])
        return done

    async def settle(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self.run_until_idle()

    def _purge(self) -> None:
        cutoff = iso(self.clock.now() - RETENTION)
        with self.store.tx() as conn:
            conn.execute("DELETE FROM runs WHERE started_at < ? AND status != 'Running'", (cutoff,))
            conn.execute("DELETE FROM events WHERE received_at < ?", (cutoff,))

    async def _due_triggers(self) -> None:
        now = self.now()
        for row in self.store.all(
            "SELECT * FROM workflows WHERE status = 'active' AND"
            " next_at IS NOT NULL AND next_at <= ?",
            now,
        ):
            workflow = WorkflowDef.model_validate_json(row["definition"])
            trigger = self._trigger(workflow)
            if trigger is None:
                continue
            params = validate_params(trigger.Params, workflow.trigger.params)
            state = self.vault.open_secrets(row["trigger_state"])
            records: list[dict[str, Any]] = []
            if trigger.kind == "poll":
                ctx = self._context(row["id"], workflow, workflow.trigger.auth, state=state)
                with contextlib.suppress(StepError):
                    records = await trigger.poll(ctx, params)
                state = ctx.state
                next_at = iso(self.clock.now() + timedelta(seconds=trigger.poll_seconds))
                records, keys = _not_own(trigger, records, state)
            else:
                records = [{"scheduled_for": row["next_at"], "fired_at": now}]
                keys = [f"schedule:{row['next_at']}"]
                fire = trigger.next_fire(params, self.clock.now())
                next_at = iso(fire) if fire else None
            with self.store.tx() as conn:
                conn.execute(
                    "UPDATE workflows SET trigger_state = ?, next_at = ? WHERE id = ?",
                    (self.vault.seal_secrets(state), next_at, row["id"]),
                )
            if records:
                self.accept(row["id"], records, keys=keys, source=trigger.kind)

    async def _advance(self, run_id: str) -> int:
        """Run a run's steps until it ends or waits; commit after every step. The run's record
        is read once; after each step only its status is (a cancel may have landed)."""
        ran = 0
        row = self.store.one("SELECT * FROM runs WHERE id = ?", run_id)
        if row is None:
            return ran
        data = json.loads(row["data"])
        status, wake_at = row["status"], row["wake_at"]
        try:
            workflow: WorkflowDef | None = self.workflow(row["workflow_id"])
        except NotFound:
            workflow = None  # the step ends the run as Terminated
        while True:
            if status != "Running" or (wake_at and wake_at > self.now()):
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
                self._finish(run_id, data, "Completed")
                return ran
            ran += 1
            await self._run_step(row, data, index, workflow)
            fresh = self.store.one("SELECT status, wake_at FROM runs WHERE id = ?", run_id)
            if fresh is None:
                return ran
            status, wake_at = fresh["status"], fresh["wake_at"]

    async def _run_step(
        self, row: Any, data: dict[str, Any], index: int, workflow: WorkflowDef | None = None
    ) -> None:
        step_rec = data["steps"][index]
        step = StepDef.model_validate(step_rec["def"])
        try:
            workflow = workflow or self.workflow(row["workflow_id"])
        except NotFound:
            self._finish(row["id"], data, "Terminated")
            return
        step_rec.update(
            status="Running",
            attempts=step_rec["attempts"] + 1,
            started_at=step_rec.get("started_at") or self.now(),
            order=step_rec.get("order") or time.monotonic_ns(),
        )
        if step.app != "logic":  # logic steps have no side effects: running one again is harmless
            self._save(row["id"], data)  # a step is recorded as started before it runs
        ctx = self._context(
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
            ctx.credentials = self.credentials(step.auth)
            params = self._params(step, context)
            step_rec["input"] = mask_credentials(params)
            output = await self._invoke(step, ctx, params)
        except StepError as exc:
            self._record_usage(step_rec, data, ctx)
            step_rec["error"] = str(exc)
            step_rec["notes"] = ctx.notes  # e.g. which Ours key a failed call used
            if exc.retryable and step_rec["attempts"] <= MAX_RETRIES:
                step_rec["status"] = "Retrying"
                wait = backoff_seconds(step_rec["attempts"], exc.retry_after, self.clock.now())
                wake = iso(self.clock.now() + timedelta(seconds=wait))
                step_rec["next_attempt_at"] = wake
                self._save(row["id"], data, wake_at=wake)
                with self.store.tx() as conn:
                    self.store.audit(
                        conn,
                        self.now(),
                        "engine",
                        "step.retry_scheduled",
                        row["id"],
                        {"step": step.id, "attempt": step_rec["attempts"], "next_attempt_at": wake},
                    )
                return
            step_rec.update(status="Failed", ended_at=self.now())
            self._finish(row["id"], data, "Failed")
            return
        self._record_usage(step_rec, data, ctx)
        self._remember_written(row["workflow_id"], workflow, step, output)
        step_rec.update(
            status="Completed", output=output, error=None, ended_at=self.now(), notes=ctx.notes
        )
        step_rec.pop("next_attempt_at", None)
        data["outputs"][step.id] = output
        wake_at = None
        if step.app == "logic":
            if step.action == "continue_if" and not output.get("passed"):
                for later in data["steps"][index + 1 :]:
                    later["status"] = "Skipped"
            elif step.action == "branch":
                chosen = _branch_steps(step, output["path"])
                data["steps"][index + 1 : index + 1] = [_step_record(s) for s in chosen]
            elif step.action in ("delay_for", "delay_until"):
                wake_at = output["until"]
        self._save(row["id"], data, wake_at=wake_at)

    async def _call(self, step: StepDef, ctx: Context, context: dict[str, Any]) -> Any:
        if not ctx.credentials and step.auth:
            ctx.credentials = self.credentials(step.auth)
        return await self._invoke(step, ctx, self._params(step, context))

    @staticmethod
    def _params(step: StepDef, context: dict[str, Any]) -> dict[str, Any]:
        try:
            return _rendered(step, context)
        except TemplateProblem as exc:
            raise StepError(f"step {step.id!r}: {exc}", retryable=False) from exc

    async def _invoke(self, step: StepDef, ctx: Context, params: dict[str, Any]) -> Any:
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

    def _remember_written(
        self, workflow_id: str, workflow: WorkflowDef, step: StepDef, output: Any
    ) -> None:
        """Keep the dedup keys of vendor records this step wrote in the trigger state, so that the
        workflow's own edit (e.g. Update Lead bumping last_updated) never triggers it again."""
        action_cls = ACTIONS.get((step.app, step.action))
        trigger = self._trigger(workflow)
        if action_cls is None or trigger is None or workflow.trigger.app != step.app:
            return
        keys = [k for r in action_cls().written(output) if (k := trigger.dedup_key(r))]
        if not keys:
            return
        with self.store.tx() as conn:
            row = conn.execute(
                "SELECT trigger_state FROM workflows WHERE id = ?", (workflow_id,)
            ).fetchone()
            if row is None:
                return
            state = self.vault.open_secrets(row["trigger_state"])
            own = [k for k in state.get(OWN_WRITES) or [] if k not in keys] + keys
            state[OWN_WRITES] = own[-OWN_WRITES_MAX:]
            conn.execute(
                "UPDATE workflows SET trigger_state = ? WHERE id = ?",
                (self.vault.seal_secrets(state), workflow_id),
            )

    def _record_usage(self, step_rec: dict[str, Any], data: dict[str, Any], ctx: Context) -> None:
        usage = step_rec.setdefault("usage", {})
        for meter, n in ctx.usage.items():
            usage[meter] = usage.get(meter, 0) + n
            data["usage"][meter] = data["usage"].get(meter, 0) + n

    def _save(self, run_id: str, data: dict[str, Any], wake_at: str | None = None) -> None:
        with self.store.tx() as conn:
            conn.execute(
                "UPDATE runs SET data = ?,"
                " wake_at = CASE status WHEN 'Running' THEN ? ELSE NULL END WHERE id = ?",
                (json.dumps(data, default=str), wake_at, run_id),
            )

    def _finish(self, run_id: str, data: dict[str, Any], status: str) -> None:
        """End a running run. A final status is sticky: a run canceled while its step was in
        flight stays Canceled (the step's record is still saved)."""
        with self.store.tx() as conn:
            ended = conn.execute(
                "UPDATE runs SET status = ?, ended_at = ?, wake_at = NULL, data = ?"
                " WHERE id = ? AND status = 'Running'",
                (status, self.now(), json.dumps(data, default=str), run_id),
            ).rowcount
            if not ended:
                conn.execute(
                    "UPDATE runs SET data = ? WHERE id = ?", (json.dumps(data, default=str), run_id)
                )
                return
            self.store.audit(
                conn,
                self.now(),
                "engine",
                f"run.{status.lower()}",
                run_id,
                {"steps": [(s["id"], s["status"]) for s in data["steps"]]},
            )

    # audit / reset --------------------------------------------------------------------------
    def audit(self) -> list[dict[str, Any]]:
        return [
            {
                "id": r["seq"],
                "time": r["time"],
                "actor": r["actor"],
                "action": r["action"],
                "target": r["target"],
                "detail": json.loads(r["detail"]),
            }
            for r in self.store.all("SELECT * FROM audit ORDER BY seq")
        ]

    async def reset(self) -> None:
        for row in self.store.all("SELECT id FROM workflows WHERE status = 'active'"):
            with contextlib.suppress(Exception):
                await self.deactivate(row["id"])
        self.store.reset()


def _not_own(
    trigger: Trigger, records: list[dict[str, Any]], state: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[str | None]]:
    """The records (and their dedup keys) that this workflow did not write itself."""
    own = set(state.get(OWN_WRITES) or [])
    pairs = [(r, trigger.dedup_key(r)) for r in records]
    kept = [(r, k) for r, k in pairs if k is None or k not in own]
    return [r for r, _ in kept], [k for _, k in kept]


def _flat(steps: list[StepDef]) -> list[StepDef]:
    from .model import all_steps

    return all_steps(steps)


def _step_record(step: StepDef) -> dict[str, Any]:
    return {
        "id": step.id,
        "app": step.app,
        "action": step.action,
        "status": "Pending",
        "attempts": 0,
        "input": None,
        "output": None,
        "error": None,
        "started_at": None,
        "ended_at": None,
        "usage": {},
        "def": step.model_dump(exclude_none=True),
    }


def _branch_steps(step: StepDef, path: str) -> list[StepDef]:
    for candidate in step.params.get("paths") or []:
        if candidate.get("name") == path:
            return [StepDef.model_validate(s) for s in candidate.get("steps") or []]
    return [StepDef.model_validate(s) for s in step.params.get("default") or []]


def _rendered(step: StepDef, context: dict[str, Any]) -> dict[str, Any]:
    if step.app == "logic" and step.action == "branch":
        params = dict(step.params)
        params["paths"] = [
            {**p, "if": render(p.get("if", {}), context)} for p in params.get("paths") or []
        ]
        return params
    return render(step.params, context)


def mask_credentials(params: dict[str, Any]) -> dict[str, Any]:
    return mask(params) if any(k in params for k in ("token", "password", "secret")) else params


__all__ = ["Conflict", "Engine", "NotFound", "WorkflowInvalid"]
