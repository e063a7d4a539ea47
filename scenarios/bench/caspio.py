"""Caspio benchmarks: GET 1,000 records with a q.where, and record inserts, in-process.

Baselines are bare Starlette apps doing the same SQLite work with fixed SQL (no OAuth, no
q.where parsing/allow-listing, no kernel middleware, no value conversion, no webhook lookup),
so the ratio is the cost of the fake's fidelity.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import httpx

from . import BenchContext, Measure, bare_app, benchmark, run_async, time_requests

ROWS = 1000
WHERE = "Visits >= 0 AND (State <> 'ZZ' OR State IS NULL) AND FirstName LIKE '%'"


def _fake(rows: int) -> tuple[Any, str]:
    from careflow.mocks.caspio import create_app
    from careflow.mocks.caspio.seed import add_patients
    from careflow.mocks.kernel import VirtualClock

    app = create_app(clock=VirtualClock("2026-01-01T12:00:00Z", frozen=True))
    backend = app.state.backend
    state = backend.state()
    add_patients(
        backend, state, backend.synthetic_for("default").for_("bench"), rows - 20, fire=False
    )
    profile = state.profiles["Keragon demo"]
    return app, backend.issue_token("default", profile)["access_token"]


def _bare_db(app: Any) -> sqlite3.Connection:
    """A copy of the fake's Patients table in a plain SQLite database."""
    db = sqlite3.connect(":memory:", check_same_thread=False)
    app.state.backend.state().db.backup(db)
    return db


@benchmark("caspio.get_1000")
def get_1000(ctx: BenchContext) -> list[Measure]:
    """GET /tables/Patients/records?q.where=…&q.limit=1000 (1,000 rows back)."""
    n = ctx.n(60, 10)
    app, token = _fake(ROWS)
    db = _bare_db(app)

    async def same(_request: Any) -> dict[str, Any]:
        cur = db.execute(
            'SELECT * FROM "Patients" WHERE "Visits" >= ? AND ("State" <> ? OR "State" IS NULL) '
            'AND "FirstName" LIKE ? ORDER BY PK_ID LIMIT 1000',
            (0, "ZZ", "%"),
        )
        names = [d[0] for d in cur.description]
        return {"Result": [dict(zip(names, r, strict=True)) for r in cur.fetchall()]}

    bare = bare_app({("GET", "/integrations/rest/v3/tables/Patients/records"): same})
    params = {"q.where": WHERE, "q.limit": "1000"}
    headers = {"Authorization": f"Bearer {token}"}

    def get(client: httpx.AsyncClient, _i: int):  # type: ignore[no-untyped-def]
        return client.get(
            "/integrations/rest/v3/tables/Patients/records", params=params, headers=headers
        )

    fake_s = run_async(time_requests(app, get, n))
    bare_s = run_async(time_requests(bare, get, n))
    return [
        Measure("GET 1,000 records (q.where)", fake_s * 1000, "ms/req", bare_s * 1000),
        Measure("records served", ROWS / fake_s, "rows/s", note="fake"),
    ]


@benchmark("caspio.insert")
def insert(ctx: BenchContext) -> list[Measure]:
    """POST /tables/Patients/records?response=rows, one synthetic patient per request."""
    n = ctx.n(1000, 100)
    app, token = _fake(20)
    db = _bare_db(app)
    from careflow.mocks.caspio.seed import patient_row
    from careflow.mocks.kernel import Synthetic

    syn = Synthetic(1, "bench")
    bodies = [patient_row(syn) for _ in range(64)]

    async def same(request: Any) -> dict[str, Any]:
        body = await request.json()
        cols = list(body)
        cur = db.execute(
            f'INSERT INTO "Patients" ({", ".join(cols)}) VALUES ({", ".join("?" for _ in cols)})',
            [int(v) if isinstance(v, bool) else v for v in body.values()],
        )
        return {"Result": [{"PK_ID": cur.lastrowid, **body}]}

    bare = bare_app({("POST", "/integrations/rest/v3/tables/Patients/records"): same})
    headers = {"Authorization": f"Bearer {token}"}

    def post(client: httpx.AsyncClient, i: int):  # type: ignore[no-untyped-def]
        return client.post(
            "/integrations/rest/v3/tables/Patients/records?response=rows",
            json=bodies[i % len(bodies)],
            headers=headers,
        )

    fake_s = run_async(time_requests(app, post, n))
    bare_s = run_async(time_requests(bare, post, n))
    return [
        Measure("POST a record (response=rows)", fake_s * 1e6, "µs/req", bare_s * 1e6),
        Measure("insert throughput", 1 / fake_s, "records/s", 1 / bare_s),
    ]
