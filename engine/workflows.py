"""Part one of the engine: authentications (sealed at rest by the vault) and workflow definitions.

Saving a workflow that is active, activating and deleting one go through the trigger lifecycle
(triggers.py); this part only keeps the records.
"""

from __future__ import annotations

import json
from typing import Any

from .connectors import TRIGGERS, Context, StepError, Trigger, credential_problems
from .model import WorkflowDef, WorkflowInvalid, load_workflow
from .secrets import mask
from .shared import Conflict, NotFound, Shared, new_id


def trigger_of(workflow: WorkflowDef) -> Trigger | None:
    """The workflow's trigger connector; None for ``app: webhook`` (the posted JSON is the
    payload)."""
    cls = TRIGGERS.get((workflow.trigger.app, workflow.trigger.event or ""))
    return cls() if cls else None


class Workflows:
    def __init__(self, shared: Shared) -> None:
        self.shared = shared
        self.store = shared.store

    # authentications ------------------------------------------------------------------------
    def create_authentication(
        self, name: str, app: str, credentials: dict[str, Any], actor: str = "api"
    ) -> dict[str, Any]:
        if not name or not isinstance(credentials, dict):
            raise ValueError("an authentication needs a name and a credentials object")
        if self.store.one("SELECT 1 FROM authentications WHERE name = ?", name):
            raise Conflict(f"an authentication named {name!r} exists")
        problems = credential_problems(app, credentials)
        if problems:
            raise WorkflowInvalid([{"loc": ["credentials"], "msg": m} for m in problems])
        auth_id = new_id("auth")
        now = self.shared.now()
        with self.store.tx() as conn:
            conn.execute(
                "INSERT INTO authentications VALUES (?, ?, ?, ?, ?)",
                (auth_id, name, app, self.shared.vault.seal(credentials), now),
            )
            self.store.audit(
                conn,
                now,
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
            self.store.audit(conn, self.shared.now(), "api", "authentication.deleted", auth_id, {})

    def credentials(self, name: str | None) -> dict[str, Any]:
        if not name:
            return {}
        row = self.store.one(
            "SELECT secret FROM authentications WHERE name = ? OR id = ?", name, name
        )
        if row is None:
            raise StepError(f"no authentication named {name!r}", retryable=False)
        return self.shared.vault.open(row["secret"])

    def context(
        self, workflow_id: str, workflow: WorkflowDef, auth: str | None, **kwargs: Any
    ) -> Context:
        """What a connector gets for one call, with the credentials of ``auth``."""
        shared = self.shared
        return Context(
            http=shared.http,
            clock=shared.clock,
            workflow_id=workflow_id,
            credentials=self.credentials(auth),
            auth_name=auth,
            engine_url=shared.engine_url,
            workflow_name=workflow.name,
            allow_remote=shared.allow_remote,
            **kwargs,
        )

    # workflows ------------------------------------------------------------------------------
    def row(self, workflow_id: str) -> Any:
        row = self.store.one("SELECT * FROM workflows WHERE id = ?", workflow_id)
        if row is None:
            raise NotFound(f"no workflow {workflow_id!r}")
        return row

    def workflow(self, workflow_id: str) -> WorkflowDef:
        return WorkflowDef.model_validate_json(self.row(workflow_id)["definition"])

    def workflow_dict(self, workflow_id: str) -> dict[str, Any]:
        row = self.row(workflow_id)
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
        now = self.shared.now()
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

    def save(self, workflow_id: str, old: WorkflowDef, workflow: WorkflowDef) -> None:
        """Store a new definition; the version goes up on a structural change (steps added,
        removed or reordered, or another trigger)."""
        structural = (
            old.structure() != workflow.structure()
            or old.trigger.model_dump() != workflow.trigger.model_dump()
        )
        with self.store.tx() as conn:
            conn.execute(
                "UPDATE workflows SET name = ?, definition = ?, version = version + ?,"
                " updated_at = ? WHERE id = ?",
                (
                    workflow.name,
                    workflow.model_dump_json(),
                    int(structural),
                    self.shared.now(),
                    workflow_id,
                ),
            )
            self.store.audit(
                conn,
                self.shared.now(),
                "api",
                "workflow.updated",
                workflow_id,
                {"structural": structural, "steps": workflow.structure()},
            )

    def set_status(self, workflow_id: str, status: str, action: str) -> None:
        """Mark the workflow active or inactive (an inactive one is never due) and audit it."""
        with self.store.tx() as conn:
            conn.execute(
                "UPDATE workflows SET status = ?, updated_at = ?,"
                " next_at = CASE ? WHEN 'active' THEN next_at END WHERE id = ?",
                (status, self.shared.now(), status, workflow_id),
            )
            self.store.audit(conn, self.shared.now(), "api", action, workflow_id, {})

    def delete(self, workflow_id: str) -> None:
        """Forget the workflow; its running runs end Terminated in the same transaction."""
        now = self.shared.now()
        self.store.interventions += 1
        with self.store.tx() as conn:
            conn.execute("DELETE FROM workflows WHERE id = ?", (workflow_id,))
            conn.execute(
                "UPDATE runs SET status = 'Terminated', ended_at = ? WHERE"
                " workflow_id = ? AND status = 'Running'",
                (now, workflow_id),
            )
            self.store.audit(conn, now, "api", "workflow.deleted", workflow_id, {})
