"""The worker of the stack crash test (forked by the zygote, SIGKILLed by the test).

``work(data_dir, round, writes)`` opens the whole stack on ``data_dir`` — as ``careflow up
--data-dir`` does, every app in one process, here served in-process — then writes to every
service in turn and appends one line to ``acks.log`` *after* each answer:

- ``wc <lead_id> <name>``: a WhatConverts lead created;
- ``caspio <PK_ID> <name>``: a Caspio row inserted;
- ``ours <distinct_id>``: an Ours event accepted;
- ``engine <key>``: a webhook event accepted by the engine (its workflow then inserts a Caspio
  row ``wf-<key>`` in a run);
- ``clock <instant>``: the shared clock moved forward.

``ready <instant>`` (printed at start) is the clock as the restarted stack reads it;
``writing`` follows once recovery and set-up are done and the writes begin. With
``final`` the worker lets the engine finish, then writes ``final.json``: what each service holds,
and every secret the stack issued (for the at-rest scan).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .zygote import append_line

START = "2026-03-02T09:00:00Z"
WORKFLOW = {
    "name": "crash",
    "trigger": {"app": "webhook"},
    "steps": [
        {
            "id": "row",
            "app": "caspio",
            "action": "create_record",
            "auth": "caspio-demo",
            "params": {"table": "Patients", "record": {"FirstName": "wf-{{ trigger.key }}"}},
        }
    ],
}


def prepare() -> None:
    """Import everything a round uses, once, in the zygote."""
    import careflow.engine.app
    import careflow.mocks.caspio.app
    import careflow.mocks.ours.app
    import careflow.mocks.whatconverts.app
    import careflow.scenarios.stack  # noqa: F401


def setup(stack: Any) -> str:
    """The engine's authentication and workflow, made once (a crash may cut it short)."""
    with stack.client("whatconverts") as wc:  # rounds on a frozen clock: one long day
        assert wc.put("/__sandbox/quota", json={"profile": 10**9}).status_code == 200
    engine = stack.client("engine")
    if not any(
        a["name"] == "caspio-demo" for a in engine.get("/api/authentications").json()["items"]
    ):
        caspio = stack.info()["caspio"]
        creds = {k: caspio[k] for k in ("url", "client_id", "client_secret")}
        engine.post(
            "/api/authentications",
            json={"name": "caspio-demo", "app": "caspio", "credentials": creds},
        )
    flows = [w for w in engine.get("/api/workflows").json()["items"] if w["name"] == "crash"]
    flow = flows[0] if flows else engine.post("/api/workflows", json=WORKFLOW).json()
    if flow["status"] != "active":
        assert engine.post(f"/api/workflows/{flow['id']}/activate").status_code == 200
    return flow["id"]


def work(data_dir: str, round_no: int, writes: int, final: bool = False) -> None:
    from careflow.mocks.kernel import VirtualClock
    from careflow.scenarios.stack import InProcessStack

    root = Path(data_dir)
    stack = InProcessStack(data_dir=root / "stack", clock=VirtualClock(START, frozen=True))
    print(f"ready {stack.clock.snapshot()['now']}", flush=True)
    stack.run(stack.engine.run_until_idle())  # runs a previous process left
    if final:
        stack.run(stack.settle())
        (root / "final.json").write_text(json.dumps(dump(stack)))
        print("done", flush=True)
        return
    wf = setup(stack)
    info = stack.info()
    wc, caspio, ours = info["whatconverts"], info["caspio"], info["ours"]
    clients = {name: stack.client(name) for name in ("whatconverts", "caspio", "ours", "engine")}
    grant = clients["caspio"].post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": caspio["client_id"],
              "client_secret": caspio["client_secret"]},
    ).json()  # fmt: skip
    bearer = {"Authorization": f"Bearer {grant['access_token']}"}
    acks = root / "acks.log"
    print("writing", flush=True)  # the test's kill timer starts here, whatever set-up cost
    for i in range(writes):
        name = f"r{round_no}-{i}"
        kind = i % 5
        if kind == 0:
            r = clients["whatconverts"].post(
                "/api/v1/leads",
                data={"lead_type": "web_form", "contact_name": name},
                auth=(wc["api_token"], wc["api_secret"]),
            )
            assert r.status_code == 200, r.text
            append_line(acks, f"wc {r.json()['lead_id']} {name}")
        elif kind == 1:
            r = clients["caspio"].post(
                "/integrations/rest/v3/tables/Patients/records",
                params={"response": "rows"},
                json={"FirstName": name},
                headers=bearer,
            )
            assert r.status_code == 201, r.text
            append_line(acks, f"caspio {r.json()['Result'][0]['PK_ID']} {name}")
        elif kind == 2:
            body = {"token": ours["token"], "event": "lead_created", "distinctId": name,
                    "email": f"{name}@example.com"}  # fmt: skip
            r = clients["ours"].post("/api/v1/track", json=body)
            assert r.status_code == 200, r.text
            append_line(acks, f"ours {name}")
        elif kind == 3:
            r = clients["engine"].post(
                f"/hooks/{wf}", json={"key": name}, headers={"Idempotency-Key": name}
            )
            assert r.status_code == 202, r.text
            append_line(acks, f"engine {name}")
        else:
            r = clients["engine"].post("/__sandbox/clock", json={"advance_seconds": 1})
            assert r.status_code == 200, r.text
            append_line(acks, f"clock {r.json()['now']}")
    print("idle", flush=True)
    import time

    time.sleep(3600)  # until killed


def dump(stack: Any) -> dict[str, Any]:
    """What every service holds, read from its state, and every secret it issued."""
    wc = stack.kernel("whatconverts").backend.state()
    caspio_backend = stack.kernel("caspio").backend
    caspio = caspio_backend.state()
    ours = stack.kernel("ours").backend.state()
    rows = caspio.db.execute('SELECT "PK_ID", "FirstName" FROM "Patients"').fetchall()
    store = stack.engine.store
    secrets = [s for key in wc.keys.values() for s in (key.token, key.secret)]
    secrets += [s for p in caspio.profiles.values() for s in (p.client_id, p.client_secret)]
    secrets += [*caspio.tokens, *caspio.refresh, *(h["Secret"] for h in caspio.webhooks.values())]
    secrets += [s for src in ours.sources.values() for s in (src.token, src.test_token)]
    return {
        "clock": stack.clock.snapshot()["now"],
        "wc": {str(k): lead.get("contact_name") for k, lead in wc.leads.items()},
        "caspio": [list(r) for r in rows],
        "ours": [e["distinct_id"] for e in ours.events],
        "events": [list(r) for r in store.all("SELECT idem_key, id FROM events")],
        "runs": [
            {
                "id": r["id"],
                "event_id": r["event_id"],
                "status": r["status"],
                "retry_of": r["retry_of"],
                "data": json.loads(r["data"]),
            }
            for r in store.all("SELECT * FROM runs")
        ],
        "secrets": secrets,
    }
