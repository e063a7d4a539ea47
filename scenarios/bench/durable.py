"""Write throughput with ``--data-dir`` against the same writes in memory (issue 15: at least
half the in-memory rate).

With a data dir every acknowledged write is on disk before its answer (the kernel's durable
store: one SQLite transaction per request, sealed values). Measured in-process for a WhatConverts
lead create, a Caspio record insert and an Ours track; the baseline is the same fake in memory,
so the ratio is what durability costs.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from . import BenchContext, Measure, benchmark, run_async, time_requests

START = "2026-03-02T12:00:00Z"


@contextlib.contextmanager
def throwaway_keys() -> Iterator[None]:
    """Keys of the bench's data dirs go to a temporary folder, not the user's config dir."""
    old = os.environ.get("CAREFLOW_KEY_DIR")
    with tempfile.TemporaryDirectory() as folder:
        os.environ["CAREFLOW_KEY_DIR"] = folder
        try:
            yield
        finally:
            if old is None:
                os.environ.pop("CAREFLOW_KEY_DIR", None)
            else:
                os.environ["CAREFLOW_KEY_DIR"] = old


def _app(vendor: str, data_dir: str | None) -> Any:
    from careflow.mocks import VENDORS
    from careflow.mocks.kernel import VirtualClock

    app = VENDORS[vendor].create_app(clock=VirtualClock(START, frozen=True), data_dir=data_dir)
    state = app.state.backend.state()
    if vendor == "whatconverts":
        state.limits.update(profile=10**9, master=10**9)  # measure the writes, not the quota
    return app


def _writer(vendor: str, app: Any) -> Callable[[httpx.AsyncClient, int], Any]:
    creds = app.state.backend.credentials_of(app.state.backend.state())
    if vendor == "whatconverts":
        auth = (creds["api_token"], creds["api_secret"])
        form = {"lead_type": "web_form", "contact_name": "Pat Example", "form_name": "Intake"}
        return lambda c, _i: c.post("/api/v1/leads", data=form, auth=auth)
    if vendor == "caspio":
        grant = {"grant_type": "client_credentials", "client_id": creds["client_id"],
                 "client_secret": creds["client_secret"]}  # fmt: skip
        token: list[str] = []

        async def insert(c: httpx.AsyncClient, _i: int) -> httpx.Response:
            if not token:
                token.append((await c.post("/oauth/token", data=grant)).json()["access_token"])
            return await c.post(
                "/integrations/rest/v3/tables/Patients/records",
                json={"FirstName": "Pat", "LastName": "Example"},
                headers={"Authorization": f"Bearer {token[0]}"},
            )

        return insert
    body = {"token": creds["token"], "event": "lead_created", "email": "pat@example.com"}
    return lambda c, i: c.post("/api/v1/track", json={**body, "distinctId": f"b-{i}"})


@benchmark("durable.writes")
def writes(ctx: BenchContext) -> list[Measure]:
    """Requests/s of one write per vendor, with a data dir (value) and in memory (baseline)."""
    n = ctx.n(2000, 100)
    out = []
    with throwaway_keys(), tempfile.TemporaryDirectory() as root:
        for vendor, what in (
            ("whatconverts", "lead create"),
            ("caspio", "record insert"),
            ("ours", "track"),
        ):
            memory = _app(vendor, None)
            disk = _app(vendor, os.path.join(root, vendor))
            in_memory = run_async(time_requests(memory, _writer(vendor, memory), n))
            on_disk = run_async(time_requests(disk, _writer(vendor, disk), n))
            disk.state.backend.close_store()
            out.append(Measure(f"{vendor} {what}, --data-dir", 1 / on_disk, "req/s", 1 / in_memory))
    return out
