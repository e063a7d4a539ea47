"""WhatConverts benchmarks: a 2,500-lead list page and lead creation, in-process.

Baselines are bare Starlette apps doing the same data work with none of the fidelity: no Basic
auth or quota accounting, no filters or sorting, no kernel middleware (journal, faults,
correlation ids), no webhook lookup; the ratio is the cost of the fake's rules.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

import httpx

from . import BenchContext, Measure, bare_app, benchmark, run_async, time_requests

LEADS = 2500


def _fake(leads: int) -> tuple[Any, dict[str, str]]:
    from careflow.mocks.kernel import VirtualClock
    from careflow.mocks.whatconverts import create_app

    app = create_app(clock=VirtualClock("2026-03-02T12:00:00Z", frozen=True))
    backend = app.state.backend
    state = backend.state()
    state.limits.update(profile=10**9, master=10**9)  # measure the work, not the quota
    from careflow.mocks.whatconverts.seed import SEED_MAX

    while leads > 0:  # one seed adds at most SEED_MAX leads, as over HTTP
        batch = min(leads, SEED_MAX)
        backend.seed_state("default", state, {"synthetic": {"leads": batch, "window_minutes": 600}})
        leads -= batch
    c = backend.credentials_of(state)
    token = base64.b64encode(f"{c['api_token']}:{c['api_secret']}".encode()).decode()
    return app, {"Authorization": f"Basic {token}"}


@benchmark("whatconverts.list_2500")
def list_2500(ctx: BenchContext) -> list[Measure]:
    """GET /api/v1/leads?leads_per_page=2500 (2,500 leads back)."""
    n = ctx.n(40, 5)
    app, headers = _fake(LEADS)
    rows = list(app.state.backend.state().leads.values())[-LEADS:]

    async def same(_request: Any) -> dict[str, Any]:
        return {
            "page_number": 1,
            "leads_per_page": LEADS,
            "total_pages": 1,
            "total_leads": len(rows),
            "leads": [dict(r) for r in rows],
        }

    bare = bare_app({("GET", "/api/v1/leads"): same})

    def get(client: httpx.AsyncClient, _i: int):  # type: ignore[no-untyped-def]
        return client.get("/api/v1/leads", params={"leads_per_page": LEADS}, headers=headers)

    fake_s = run_async(time_requests(app, get, n))
    bare_s = run_async(time_requests(bare, get, n))
    return [
        Measure("GET 2,500 leads (one page)", fake_s * 1000, "ms/req", bare_s * 1000),
        Measure("leads served", LEADS / fake_s, "leads/s", LEADS / bare_s),
    ]


@benchmark("whatconverts.create")
def create(ctx: BenchContext) -> list[Measure]:
    """POST /api/v1/leads, form-encoded, one web-form lead with two additional fields."""
    n = ctx.n(1000, 100)
    app, headers = _fake(0)
    form = {
        "lead_type": "web_form",
        "form_name": "Intake",
        "contact_name": "Pat Example",
        "email_address": "pat@example.com",
        "additional_fields[Reason]": "New patient",
        "additional_fields[Time]": "Morning",
    }
    template = copy.deepcopy(next(iter(app.state.backend.state().leads.values())))
    stored: list[dict[str, Any]] = []

    async def same(request: Any) -> dict[str, Any]:
        fields = dict((await request.form()).items())
        lead = {**template, **fields, "lead_id": len(stored) + 1}
        stored.append(lead)
        return lead

    bare = bare_app({("POST", "/api/v1/leads"): same})

    def post(client: httpx.AsyncClient, _i: int):  # type: ignore[no-untyped-def]
        return client.post("/api/v1/leads", data=form, headers=headers)

    fake_s = run_async(time_requests(app, post, n))
    bare_s = run_async(time_requests(bare, post, n))
    return [
        Measure("POST a lead (form-encoded)", fake_s * 1e6, "µs/req", bare_s * 1e6),
        Measure("create throughput", 1 / fake_s, "leads/s", 1 / bare_s),
    ]


@benchmark("whatconverts.page_scaling")
def page_scaling(ctx: BenchContext) -> list[Measure]:
    """The default page (GET /api/v1/leads, 25 newest) with 136, 5,000 and 20,000 stored leads:
    an unfiltered page costs its size (the lead index), not the store's."""
    n = ctx.n(200, 20)
    measures, first = [], None

    def get(client: httpx.AsyncClient, _i: int):  # type: ignore[no-untyped-def]
        return client.get("/api/v1/leads", headers=headers)

    for stored in (136, 5_000, 20_000) if not ctx.quick else (136, 2_000):
        app, headers = _fake(stored)
        seconds = run_async(time_requests(app, get, n))
        first = first or seconds
        measures.append(
            Measure(
                f"default page, {stored:,} leads stored",
                seconds * 1000,
                "ms/req",
                first * 1000,
                note="goal ≤ 2x the 136-lead figure",
            )
        )
    return measures
