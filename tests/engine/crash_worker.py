"""Child process of the crash test: accepts events, runs them, and may be SIGKILLed anywhere.

Usage: python crash_worker.py DATA_DIR ROUND [--final]
Appends "ack <key>" to DATA_DIR/acks.log after each event is acknowledged, and "<run>:<step>"
to DATA_DIR/ledger.log each time a side-effect step really runs.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from careflow.engine import Engine
from careflow.engine.connectors import Action, Context, Params, action
from careflow.mocks.kernel import VirtualClock

DATA = Path(sys.argv[1])


@action
class Ledger(Action):
    app, name, Params = "test", "ledger", Params

    async def run(self, ctx: Context, params: Any) -> Any:
        with open(DATA / "ledger.log", "a") as ledger:
            ledger.write(f"{ctx.run_id}:{ctx.step_id}\n")
            ledger.flush()
            os.fsync(ledger.fileno())
        await asyncio.sleep(0)
        return {"ok": True}


async def main(round_no: int, final: bool) -> None:
    engine = Engine(
        clock=VirtualClock("2026-03-02T09:00:00Z", frozen=True),
        data_dir=DATA / "db",
        secret_key=b"x" * 43 + b"=",
    )
    print("ready", flush=True)  # imports done: the test times its kill from here
    workflows = engine.list_workflows()
    if workflows:
        wf = workflows[0]["id"]
    else:
        wf = engine.create_workflow(
            {
                "name": "crash",
                "trigger": {"app": "webhook"},
                "steps": [{"id": s, "app": "test", "action": "ledger"} for s in ("a", "b", "c")],
            }
        )["id"]
        await engine.activate(wf)
    if not final:
        with open(DATA / "acks.log", "a") as acks:
            for i in range(8):
                key = f"evt-{round_no}-{i}"
                await engine.receive_hook(wf, {"i": i}, {"idempotency-key": key})
                acks.write(f"ack {key}\n")  # acknowledged only after the commit
                acks.flush()
                os.fsync(acks.fileno())
    await engine.run_until_idle()
    print("idle", flush=True)
    if not final:
        await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[2]), "--final" in sys.argv))
