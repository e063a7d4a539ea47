"""A workflow never triggers itself with its own edit (e.g. Update Lead bumping last_updated).

The executor remembers the dedup keys of the vendor records a step wrote in the workflow's trigger
state; the trigger part drops those records when they come back by poll or webhook.
"""

from __future__ import annotations

from typing import Any

from .connectors import ACTIONS, Trigger
from .model import StepDef, WorkflowDef
from .shared import Shared
from .workflows import trigger_of

OWN_WRITES = "own_writes"  # trigger state: dedup keys of records this workflow's steps wrote
OWN_WRITES_MAX = 500


def not_own(
    trigger: Trigger, records: list[dict[str, Any]], state: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[str | None]]:
    """The records (and their dedup keys) that this workflow did not write itself."""
    own = set(state.get(OWN_WRITES) or [])
    pairs = [(r, trigger.dedup_key(r)) for r in records]
    kept = [(r, k) for r, k in pairs if k is None or k not in own]
    return [r for r, _ in kept], [k for _, k in kept]


def remember_written(
    shared: Shared, workflow_id: str, workflow: WorkflowDef, step: StepDef, output: Any
) -> None:
    """Keep the dedup keys of the vendor records ``step`` wrote (by its action's ``written``)
    when the workflow's trigger is of the same app."""
    action_cls = ACTIONS.get((step.app, step.action))
    trigger = trigger_of(workflow)
    if action_cls is None or trigger is None or workflow.trigger.app != step.app:
        return
    keys = [k for r in action_cls().written(output) if (k := trigger.dedup_key(r))]
    if not keys:
        return
    with shared.store.tx() as conn:
        row = conn.execute(
            "SELECT trigger_state FROM workflows WHERE id = ?", (workflow_id,)
        ).fetchone()
        if row is None:
            return
        state = shared.vault.open_secrets(row["trigger_state"])
        own = [k for k in state.get(OWN_WRITES) or [] if k not in keys] + keys
        state[OWN_WRITES] = own[-OWN_WRITES_MAX:]
        conn.execute(
            "UPDATE workflows SET trigger_state = ? WHERE id = ?",
            (shared.vault.seal_secrets(state), workflow_id),
        )
