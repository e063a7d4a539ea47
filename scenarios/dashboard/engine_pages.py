"""The engine's pages: workflows, runs (with retry and cancel) and the cross-service timeline."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from .links import caspio_rows_of_run, lead_requests
from .present import mask
from .reader import ServiceError, gather_dict
from .web import dashboard, redirect, revealed

RUN_STATUSES = ("Running", "Completed", "Failed", "Canceled", "Terminated")
RUNS_PAGE = 50
WORKFLOW_KEYS = ("name", "description", "trigger", "steps")


def register(router: APIRouter) -> None:
    # workflows --------------------------------------------------------------------------------
    @router.get("/workflows")
    async def workflows(request: Request) -> Response:
        board = dashboard(request)
        return board.render(
            request,
            "workflows.html",
            title="Workflows",
            section="workflows",
            workflows=await board.reader.workflows(),
        )

    @router.get("/workflows/{workflow_id}")
    async def workflow(request: Request, workflow_id: str) -> Response:
        return await _workflow_page(request, workflow_id)

    @router.post("/workflows/{workflow_id}/{action}")
    async def workflow_action(request: Request, workflow_id: str, action: str) -> Response:
        reader = dashboard(request).reader
        back = f"/ui/workflows/{workflow_id}"
        if action not in ("activate", "deactivate", "test-trigger"):
            return redirect(request, back, f"Unknown action {action!r}.")
        try:
            answer = await reader.engine("POST", f"/api/workflows/{workflow_id}/{action}")
        except ServiceError as exc:
            if action == "test-trigger":
                return await _workflow_page(request, workflow_id, test_error=exc.detail)
            return redirect(request, back, f"{action.capitalize()} failed: {exc.detail}")
        if action == "test-trigger":  # shown at once: the records are the answer
            return await _workflow_page(request, workflow_id, test_records=answer["items"])
        return redirect(request, back, f"Workflow is now {answer.get('status')}.")

    # runs -------------------------------------------------------------------------------------
    @router.get("/runs")
    async def runs(
        request: Request, workflow_id: str = "", status: str = "", cursor: str = ""
    ) -> Response:
        board = dashboard(request)
        reader = board.reader
        got = await gather_dict(
            {
                "page": reader.runs_page(
                    workflow_id=workflow_id, status=status, limit=RUNS_PAGE, cursor=cursor
                ),
                "workflows": reader.workflows(),
            }
        )
        if isinstance(got["page"], Exception):
            raise got["page"]
        items, next_cursor = got["page"]
        workflows = got["workflows"] if isinstance(got["workflows"], list) else []
        return board.render(
            request,
            "runs.html",
            title="Runs",
            section="runs",
            runs=items,
            next_cursor=next_cursor,
            cursor=cursor,
            workflow_id=workflow_id,
            status=status,
            statuses=RUN_STATUSES,
            workflows=workflows,
            workflow_names={w["id"]: w["name"] for w in workflows},
        )

    @router.get("/runs/{run_id}")
    async def run(request: Request, run_id: str) -> Response:
        board = dashboard(request)
        reader = board.reader
        found = await reader.engine("GET", f"/api/runs/{run_id}")
        try:
            wf = await reader.engine("GET", f"/api/workflows/{found['workflow_id']}")
        except ServiceError:
            wf = {"id": found["workflow_id"], "name": found["workflow_id"]}
        reveal = revealed(request)
        return board.render(
            request,
            "run.html",
            title=f"Run {run_id}",
            section="runs",
            run=found,
            workflow=wf,
            trigger=mask(found.get("trigger"), reveal),
            steps=[
                {
                    **step,
                    "input": mask(step.get("input"), reveal),
                    "output": mask(step.get("output"), reveal),
                }
                for step in found.get("steps", [])
            ],
            rows=caspio_rows_of_run(found),
        )

    @router.post("/runs/{run_id}/{action}")
    async def run_action(request: Request, run_id: str, action: str) -> Response:
        reader = dashboard(request).reader
        back = f"/ui/runs/{run_id}"
        if action not in ("retry", "cancel"):
            return redirect(request, back, f"Unknown action {action!r}.")
        try:
            answer = await reader.engine("POST", f"/api/runs/{run_id}/{action}")
        except ServiceError as exc:
            return redirect(request, back, f"{action.capitalize()} refused: {exc.detail}")
        if action == "retry":
            return redirect(
                request, f"/ui/runs/{answer['id']}", f"Retry of {run_id} started: {answer['id']}."
            )
        return redirect(request, back, "Run canceled.")

    # timeline ---------------------------------------------------------------------------------
    @router.get("/timeline/{correlation_id}")
    async def timeline(request: Request, correlation_id: str) -> Response:
        board = dashboard(request)
        events, alias, sources = await _timeline(board.reader)
        shown_as = alias.get(correlation_id)
        wanted = shown_as or correlation_id
        rows = [e for e in events if e.correlation_id.startswith(wanted)]
        runs = {r["id"]: r for r in sources.runs}
        return board.render(
            request,
            "timeline.html",
            title=f"Timeline {correlation_id}",
            section="",
            correlation_id=correlation_id,
            shown_as=shown_as,
            rows=rows,
            runs=runs,
        )


async def _workflow_page(
    request: Request,
    workflow_id: str,
    *,
    test_records: list[Any] | None = None,
    test_error: str | None = None,
) -> Response:
    import yaml  # loads with the first workflow page (careflow up starts without it)

    board = dashboard(request)
    reader = board.reader
    found = await reader.engine("GET", f"/api/workflows/{workflow_id}")
    runs, _next = await reader.runs_page(workflow_id=workflow_id, limit=10)
    definition = {k: found[k] for k in WORKFLOW_KEYS if found.get(k) not in (None, "")}
    for step in definition.get("steps", []):
        for key in [k for k, v in step.items() if v is None]:
            del step[key]
    # secrets an HTTP step may carry (headers, tokens) read *** even in the definition
    definition = json.loads(json.dumps(mask(definition, reveal=True)))
    reveal = revealed(request)
    return board.render(
        request,
        "workflow.html",
        title=f"Workflow {found['name']}",
        section="workflows",
        workflow=found,
        yaml_text=yaml.safe_dump(definition, sort_keys=False, allow_unicode=True, width=100),
        runs=runs,
        test_records=None if test_records is None else [mask(r, reveal) for r in test_records],
        test_error=test_error,
    )


async def _timeline(reader: Any) -> tuple[list[Any], dict[str, str], Any]:
    """Every hop the stack recorded, as ``scenarios.timeline`` builds it for the CLI."""
    from ..timeline import Sources, build  # imports the stack, which mounts this dashboard

    calls: dict[str, Any] = {"runs": reader.all_runs(), "wc_state": reader.state("whatconverts")}
    fakes = await reader.fakes()
    for service in fakes:
        calls[f"journal_{service}"] = reader.admin(service, "GET", "/journal")
        calls[f"deliveries_{service}"] = reader.admin(service, "GET", "/webhooks/deliveries")
    calls["dispatches"] = reader.admin("ours", "GET", "/dispatches")
    got = await gather_dict(calls)
    sources = Sources()
    for service in fakes:
        journal, deliveries = got[f"journal_{service}"], got[f"deliveries_{service}"]
        if isinstance(journal, dict) and isinstance(deliveries, dict):
            sources.journals[service] = journal["items"]
            sources.deliveries[service] = deliveries["items"]
    if isinstance(got["dispatches"], dict):
        sources.dispatches = got["dispatches"]["items"]
    if isinstance(got["runs"], list):
        sources.runs = got["runs"]
    leads = got["wc_state"].get("leads", {}) if isinstance(got["wc_state"], dict) else {}
    linked = lead_requests(sources.journals.get("whatconverts", []), leads)
    events, alias = build(sources, linked)
    return events, alias, sources
