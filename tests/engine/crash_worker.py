"""Worker of the engine crash test, forked by a zygote (tests/reliability/zygote.py): accepts
events, runs them, and may be SIGKILLed anywhere.

``work(data_dir, round, final)`` appends "ack <key>" to DATA_DIR/acks.log after each event is
acknowledged, and "<run>:<step>" to DATA_DIR/ledger.log each time a side-effect step really runs.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from careflow.engine import Engine
from careflow.engine.connectors import Action, Context, Params, action
from careflow.mocks.kernel import VirtualClock

from ..reliability.zygote import append_line

LEDGER: list[Path] = []


@action
class Ledger(Action):
    app, name, Params = "test", "ledger", Params

    async def run(self, ctx: Context, params: Any) -> Any:
        append_line(LEDGER[0], f"{ctx.run_id}:{ctx.step_id}")
        await asyncio.sleep(0)
        return {"ok": True}


async def main(data: Path, round_no: int, final: bool) -> None:
    engine = Engine(
        clock=VirtualClock("2026-03-02T09:00:00Z", frozen=True),
        data_dir=data / "db",
        secret_key=b"x" * 43 + b"=",
    )
    print("ready", flush=True)  # the test times its kill from here
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
        for i in range(8):
            key = f"evt-{round_no}-{i}"
            await engine.receive_hook(wf, {"i": i}, {"idempotency-key": key})
            append_line(data / "acks.log", f"ack {key}")  # acknowledged only after the commit
    await engine.run_until_idle()
    print("idle", flush=True)
    if not final:
        await asyncio.sleep(3600)


def work(data_dir: str, round_no: int, final: bool = False) -> None:
    LEDGER[:] = [Path(data_dir) / "ledger.log"]
    os.makedirs(data_dir, exist_ok=True)
    asyncio.run(main(Path(data_dir), round_no, final))
