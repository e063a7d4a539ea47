"""Part three of the engine, its records: trigger events and the runs they start, listing (paged),
cancel, retry, recovery after a crash, and the 7-day purge. executor.py runs the steps.

A run's record is one row; its steps, outputs and usage are one JSON document (``data``) written
after every step, so a crash loses at most the step in flight.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from careflow.clock import format_instant, next_order

from .connectors import ACTIONS
from .model import StepDef, WorkflowDef, all_steps
from .run_json import RenderedRuns
from .shared import Conflict, NotFound, Shared, new_id
from .workflows import Workflows

RETENTION = timedelta(days=7)  # [C] keragon.md §6: run data kept 7 days only
# Besides the 7 days, a count cap (on a real clock nothing may be 7 days old for a long time):
# the newest finished runs, trigger events and audit rows kept. A running run is never purged.
MAX_RUNS = 10_000
MAX_AUDIT = 50_000
RUNS_ENV, AUDIT_ENV = "CAREFLOW_MAX_RUNS", "CAREFLOW_MAX_AUDIT"
PURGE_EVERY = 500  # new runs between two purges (each reads the tables once) ...
PURGE_AFTER = timedelta(minutes=1)  # ... or this much clock time
STATUSES = ("Running", "Completed", "Failed", "Canceled", "Terminated")
PAGE_SIZE = 100  # DESIGN.md "Engine HTTP API": the default limit of GET /api/runs
PAGE_MAX = 1_000  # ... and larger limits are clamped to this
_CURSOR = "runs:"


def cap_from_env(name: str, default: int) -> int:
    """A positive whole number from the environment variable ``name``, else ``default``."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, not {raw!r}")
    return int(raw)


class InvalidPage(ValueError):
    """A ``limit`` or ``cursor`` the runs listing cannot use; ``field`` says which."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def encode_cursor(seq: int) -> str:
    """Opaque to clients: the start order (``seq``) of the last run on the page."""
    return base64.urlsafe_b64encode(f"{_CURSOR}{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.b64decode(cursor + "=" * (-len(cursor) % 4), b"-_", validate=True).decode()
        seq = int(text.removeprefix(_CURSOR)) if text.startswith(_CURSOR) else -1
    except ValueError:  # binascii.Error, UnicodeError and a bad number are all ValueErrors
        seq = -1
    if not 0 < seq < 2**63:
        raise InvalidPage(
            "cursor",
            f"{cursor[:80]!r} is not a cursor this API gave: pass the next_cursor of the "
            "previous page, or leave cursor out to start from the newest run",
        )
    return seq


def step_record(step: StepDef) -> dict[str, Any]:
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


def run_dict(row: Any) -> dict[str, Any]:
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


class Runs:
    def __init__(
        self,
        shared: Shared,
        workflows: Workflows,
        kick: Callable[[], None],
        *,
        max_runs: int | None = None,
        max_audit: int | None = None,
    ) -> None:
        self.shared = shared
        self.store = shared.store
        self.workflows = workflows
        self.kick = kick  # asks the engine to drive what is due (coalesced)
        self.max_runs = max_runs if max_runs is not None else cap_from_env(RUNS_ENV, MAX_RUNS)
        self.max_audit = max_audit if max_audit is not None else cap_from_env(AUDIT_ENV, MAX_AUDIT)
        if self.max_runs < 1 or self.max_audit < 1:
            raise ValueError("max_runs and max_audit must be at least 1")
        self._started_since_purge = 0
        self._purged_at: Any = None  # the clock's instant at the last purge
        self.rendered = RenderedRuns(run_dict)  # the listing's JSON per run (run_json.py)

    # starting -------------------------------------------------------------------------------
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
        now = self.shared.now()
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
                self._started_since_purge += 1
                cid = correlation_id or event_id
                self.new_run(conn, workflow_id, record, cid, event_id=event_id)
                self.store.audit(
                    conn, now, source, "run.started", workflow_id, {"event_id": event_id}
                )
        if accepted:
            self.kick()
        return accepted

    def new_run(
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
            "steps": steps if steps is not None else [step_record(s) for s in workflow.steps],
            "outputs": outputs or {},
            "usage": {},
            "order": next_order(),  # timelines: the same scale as the fakes'
        }
        conn.execute(
            "INSERT INTO runs (id, workflow_id, event_id, status, started_at, retry_of,"
            " correlation_id, data) VALUES (?, ?, ?, 'Running', ?, ?, ?, ?)",
            (run_id, workflow_id, event_id, self.shared.now(), retry_of, cid, json.dumps(data)),
        )
        return run_id

    # reading --------------------------------------------------------------------------------
    def get_run(self, run_id: str) -> dict[str, Any]:
        return run_dict(self._row(run_id))

    def _row(self, run_id: str) -> Any:
        row = self.store.one("SELECT * FROM runs WHERE id = ?", run_id)
        if row is None:
            raise NotFound(f"no run {run_id!r}")
        return row

    def list_runs(
        self, workflow_id: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        """Every run (newest first), of one workflow and/or one status (any letter case)."""
        return [run_dict(r) for r in self._select(workflow_id, status)]

    def page_runs(
        self,
        workflow_id: str | None = None,
        status: str | None = None,
        limit: int = PAGE_SIZE,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """One page, newest first: ``{"items", "next_cursor"}`` (None on the last page). An
        index serves each filter in start order, so a page costs its own size, however many
        runs there are."""
        rows, next_cursor = self._page(workflow_id, status, limit, cursor)
        return {"items": [run_dict(r) for r in rows], "next_cursor": next_cursor}

    def page_runs_json(
        self,
        workflow_id: str | None = None,
        status: str | None = None,
        limit: int = PAGE_SIZE,
        cursor: str | None = None,
    ) -> bytes:
        """``page_runs`` as ``JSONResponse`` bytes, from each run's item kept in run_json.py."""
        return self.rendered.page(*self._page(workflow_id, status, limit, cursor))

    def get_run_json(self, run_id: str) -> bytes:
        """``get_run`` as ``JSONResponse`` bytes, from the same rendered items."""
        return self.rendered.item(self._row(run_id)).encode()

    def _page(  # a page's rows, and the next page's cursor (None on the last page)
        self, workflow_id: str | None, status: str | None, limit: int, cursor: str | None
    ) -> tuple[list[Any], str | None]:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidPage("limit", f"limit must be a whole number of at least 1, not {limit!r}")
        limit = min(limit, PAGE_MAX)
        before = decode_cursor(cursor) if cursor is not None else None
        rows = self._select(workflow_id, status, before=before, limit=limit + 1)
        more = len(rows) > limit
        return rows[:limit], encode_cursor(rows[limit - 1]["seq"]) if more else None

    def _select(
        self,
        workflow_id: str | None,
        status: str | None,
        *,
        before: int | None = None,
        limit: int = -1,
    ) -> list[Any]:
        where, args = [], []
        if workflow_id:
            where, args = [*where, "workflow_id = ?"], [*args, workflow_id]
        if status:  # statuses are a fixed set: match any case through the index
            canonical = {s.lower(): s for s in STATUSES}.get(status.lower(), status)
            where, args = [*where, "status = ?"], [*args, canonical]
        if before is not None:
            where, args = [*where, "seq < ?"], [*args, before]
        sql = "SELECT * FROM runs" + (" WHERE " + " AND ".join(where) if where else "")
        return self.store.all(sql + " ORDER BY seq DESC LIMIT ?", *args, limit)

    def due(self) -> list[str]:
        """The running runs whose wait (delay, retry backoff) is over, in start order."""
        rows = self.store.all(
            "SELECT id FROM runs WHERE status = 'Running' AND"
            " (wake_at IS NULL OR wake_at <= ?) ORDER BY seq",
            self.shared.now(),
        )
        return [row["id"] for row in rows]

    # changing -------------------------------------------------------------------------------
    def cancel_run(self, run_id: str) -> dict[str, Any]:
        run = self.get_run(run_id)
        if run["status"] != "Running":
            raise Conflict(f"run {run_id} is {run['status']}; only a running run can be canceled")
        now = self.shared.now()
        self.store.interventions += 1
        with self.store.tx() as conn:
            conn.execute(
                "UPDATE runs SET status = 'Canceled', ended_at = ?, wake_at = NULL WHERE id = ?",
                (now, run_id),
            )
            self.store.audit(conn, now, "api", "run.canceled", run_id, {})
        return self.get_run(run_id)

    def retry_run(self, run_id: str) -> dict[str, Any]:
        """[C] keragon.md §6: a new run from the failed step, with that step's *current*
        configuration; refused when steps were added or removed since."""
        row = self._row(run_id)
        if row["status"] != "Failed":
            raise Conflict(f"run {run_id} is {row['status']}; only a failed run can be retried")
        data = json.loads(row["data"])
        workflow = self.workflows.workflow(row["workflow_id"])
        if workflow.structure() != data["structure"]:
            raise Conflict(
                "the workflow's steps were added or removed since this run "
                f"(then {data['structure']}, now {workflow.structure()}): retry is not "
                "possible; trigger the workflow from the beginning instead"
            )
        current = {s.id: s for s in all_steps(workflow.steps)}
        steps = [
            step if step["status"] == "Completed" else step_record(current[step["id"]])
            for step in data["steps"]
        ]
        with self.store.tx() as conn:
            new = self.new_run(
                conn,
                row["workflow_id"],
                data["trigger"],
                row["correlation_id"],
                event_id=row["event_id"],
                retry_of=run_id,
                steps=steps,
                outputs=data["outputs"],
            )
            self.store.audit(
                conn, self.shared.now(), "api", "run.retried", run_id, {"new_run": new}
            )
        self.kick()
        return self.get_run(new)

    def save(self, run_id: str, data: dict[str, Any], wake_at: str | None = None) -> None:
        with self.store.tx() as conn:
            conn.execute(
                "UPDATE runs SET data = ?,"
                " wake_at = CASE status WHEN 'Running' THEN ? ELSE NULL END WHERE id = ?",
                (json.dumps(data, default=str), wake_at, run_id),
            )

    def finish(self, run_id: str, data: dict[str, Any], status: str) -> None:
        """End a running run. A final status is sticky: a run canceled while its step was in
        flight stays Canceled (the step's record is still saved)."""
        now = self.shared.now()
        with self.store.tx() as conn:
            ended = conn.execute(
                "UPDATE runs SET status = ?, ended_at = ?, wake_at = NULL, data = ?"
                " WHERE id = ? AND status = 'Running'",
                (status, now, json.dumps(data, default=str), run_id),
            ).rowcount
            if not ended:
                conn.execute(
                    "UPDATE runs SET data = ? WHERE id = ?", (json.dumps(data, default=str), run_id)
                )
                return
            self.store.audit(
                conn,
                now,
                "engine",
                f"run.{status.lower()}",
                run_id,
                {"steps": [(s["id"], s["status"]) for s in data["steps"]]},
            )

    def recover(self) -> None:
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
                    self.save(row["id"], data)
                else:
                    step.update(
                        status="Failed",
                        ended_at=self.shared.now(),
                        error=(
                            "interrupted by an engine restart while running; not run again "
                            "automatically so that its side effect cannot happen twice (retry the "
                            "run to resume it)"
                        ),
                    )
                    self.finish(row["id"], data, "Failed")

    def purge(self, *, force: bool = False) -> None:
        """Forget finished runs, trigger events and audit rows older than the retention, and
        all but the newest ``max_runs`` / ``max_audit``. Each pass reads the tables, so it runs
        every ``PURGE_EVERY`` new runs or ``PURGE_AFTER`` of clock time (or when forced); a cap
        may be passed by that much in between."""
        now = self.shared.clock.now()
        due = (
            self._purged_at is None
            or self._started_since_purge >= PURGE_EVERY
            or abs(now - self._purged_at) >= PURGE_AFTER
        )
        if not (due or force):
            return
        self._purged_at, self._started_since_purge = now, 0
        purge_store(self.store, format_instant(now - RETENTION), self.max_runs, self.max_audit)


def purge_store(store: Any, cutoff: str, max_runs: int, max_audit: int) -> None:
    """One purge pass (Runs.purge): older than ``cutoff``, and past the count caps."""
    newest_kept = "SELECT seq FROM {table} ORDER BY seq DESC LIMIT 1 OFFSET ?"
    with store.tx() as conn:
        conn.execute("DELETE FROM runs WHERE started_at < ? AND status != 'Running'", (cutoff,))
        conn.execute("DELETE FROM events WHERE received_at < ?", (cutoff,))
        conn.execute("DELETE FROM audit WHERE time < ?", (cutoff,))
        conn.execute(
            "DELETE FROM runs WHERE status != 'Running' AND seq <= ("
            + newest_kept.format(table="runs")
            + ")",
            (max_runs,),
        )
        conn.execute(  # trigger events: as many as runs (their idempotency keys go too)
            "DELETE FROM events WHERE rowid <= (SELECT rowid FROM events ORDER BY rowid DESC"
            " LIMIT 1 OFFSET ?)",
            (max_runs,),
        )
        conn.execute(
            "DELETE FROM audit WHERE seq <= (" + newest_kept.format(table="audit") + ")",
            (max_audit,),
        )
