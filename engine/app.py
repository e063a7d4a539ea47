"""The engine's HTTP API (DESIGN.md "Engine HTTP API") over one ``Engine``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, HTTPException, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

import careflow.limits as limits
from careflow.clock import VirtualClock, clock_router

from .clock import Clock
from .connectors import StepError
from .core import Conflict, Engine, NotFound
from .model import WorkflowInvalid
from .runs import PAGE_MAX, PAGE_SIZE, InvalidPage

TICK_SECONDS = 1.0


class AuthCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., min_length=1, max_length=100)
    app: str = Field(..., min_length=1)
    credentials: dict[str, Any]


# careflow.limits: the engine's own bodies are small (workflows, authentications, the clock);
# webhooks carry what vendors send (Caspio messages up to 10 MB, [C] caspio.md §8).
API_BODY_LIMIT = 1024 * 1024


async def _document(request: Request) -> tuple[Any, str]:
    """A workflow document (JSON or YAML), parsed off the event loop and checked."""
    raw = await request.body()
    if not raw.strip():
        return {}, ""
    try:
        data = await limits.parse_document(raw)
    except limits.BadInput as exc:
        if exc.status != 400:
            raise HTTPException(exc.status, exc.message) from None
        raise WorkflowInvalid([{"loc": ["body"], "msg": exc.message}]) from None
    return data, raw.decode("utf-8", errors="replace")


def _json_body(request: Request, raw: bytes, what: str) -> Any:
    try:
        return limits.body_json(request.scope, raw) if raw.strip() else {}
    except (ValueError, RecursionError) as exc:
        raise HTTPException(400, f"{what} must be JSON: {exc}") from exc


def create_app(
    *,
    clock: Clock | None = None,
    stack_info: dict[str, Any] | None = None,
    http_client: httpx.AsyncClient | None = None,
    data_dir: str | Path | None = None,
    engine_url: str | None = None,
    allow_remote: bool = False,
    engine: Engine | None = None,
) -> FastAPI:
    engine = engine or Engine(
        clock=clock or VirtualClock(),
        http=http_client,
        data_dir=data_dir,
        engine_url=engine_url or "http://127.0.0.1:8400",
        allow_remote=allow_remote,
    )
    clock = engine.clock

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async def tick() -> None:  # a served engine on a running clock: release what is due
            while True:
                await asyncio.sleep(TICK_SECONDS)
                if not clock.frozen:
                    engine.kick()

        engine.kick()  # resume runs left by a previous process
        task = asyncio.create_task(tick())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app = FastAPI(
        title="careflow engine",
        description="A minimal Keragon-like workflow engine.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.clock = clock
    app.state.stack_info = stack_info

    @app.exception_handler(RequestValidationError)
    async def unprocessable(_r: Request, exc: RequestValidationError) -> JSONResponse:
        # validation errors echo the input: whatever it holds, the 422 must encode
        return JSONResponse({"detail": jsonable_encoder(limits.json_safe(exc.errors()))}, 422)

    @app.exception_handler(WorkflowInvalid)
    async def invalid(_r: Request, exc: WorkflowInvalid) -> JSONResponse:
        return JSONResponse({"detail": exc.problems}, 422)

    @app.exception_handler(NotFound)
    async def not_found(_r: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, 404)

    @app.exception_handler(Conflict)
    async def conflict(_r: Request, exc: Conflict) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, 409)

    # sandbox surface ------------------------------------------------------------------------
    @app.get("/__sandbox/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "service": "engine"}

    @app.get("/__sandbox/stack")
    async def stack() -> dict[str, Any]:
        if app.state.stack_info is None:
            raise HTTPException(404, "this engine was not started as part of a careflow stack")
        return app.state.stack_info

    app.include_router(clock_router(clock, engine.settle), prefix="/__sandbox")

    @app.post("/__sandbox/settle")
    async def settle() -> dict[str, str]:
        await engine.settle()
        return {"status": "settled", "service": "engine"}

    @app.post("/__sandbox/reset")
    async def reset() -> dict[str, str]:
        await engine.reset()
        return {"status": "reset", "service": "engine"}

    # authentications ------------------------------------------------------------------------
    @app.post("/api/authentications", status_code=201)
    async def create_auth(body: AuthCreate) -> dict[str, Any]:
        return engine.create_authentication(body.name, body.app, body.credentials)

    @app.get("/api/authentications")
    async def list_auths() -> dict[str, Any]:
        return {"items": engine.list_authentications()}

    @app.delete("/api/authentications/{auth_id}", status_code=204)
    async def delete_auth(auth_id: str) -> Response:
        engine.delete_authentication(auth_id)
        return Response(status_code=204)

    # workflows ------------------------------------------------------------------------------
    @app.post("/api/workflows", status_code=201)
    async def create_workflow(request: Request) -> dict[str, Any]:
        data, text = await _document(request)
        return engine.create_workflow(data, text)

    @app.get("/api/workflows")
    async def list_workflows() -> dict[str, Any]:
        return {"items": engine.list_workflows()}

    @app.get("/api/workflows/{workflow_id}")
    async def get_workflow(workflow_id: str) -> dict[str, Any]:
        return engine.workflow_dict(workflow_id)

    @app.put("/api/workflows/{workflow_id}")
    async def put_workflow(workflow_id: str, request: Request) -> dict[str, Any]:
        data, text = await _document(request)
        return await engine.update_workflow(workflow_id, data, text)

    @app.delete("/api/workflows/{workflow_id}", status_code=204)
    async def delete_workflow(workflow_id: str) -> Response:
        await engine.delete_workflow(workflow_id)
        return Response(status_code=204)

    @app.post("/api/workflows/{workflow_id}/activate")
    async def activate(workflow_id: str) -> dict[str, Any]:
        return await engine.activate(workflow_id)

    @app.post("/api/workflows/{workflow_id}/deactivate")
    async def deactivate(workflow_id: str) -> dict[str, Any]:
        return await engine.deactivate(workflow_id)

    @app.post("/api/workflows/{workflow_id}/test-trigger")
    async def test_trigger(workflow_id: str) -> dict[str, Any]:
        return {"items": await engine.test_trigger(workflow_id)}

    @app.post("/api/workflows/{workflow_id}/test-step/{step_id}")
    async def test_step(workflow_id: str, step_id: str, request: Request) -> dict[str, Any]:
        sample = _json_body(request, await request.body(), "the sample record")
        if not isinstance(sample, dict):
            raise HTTPException(422, "the sample record must be a JSON object")
        return await engine.test_step(workflow_id, step_id, sample)

    # runs -----------------------------------------------------------------------------------
    @app.get("/api/runs")
    async def runs(
        workflow_id: str | None = None,
        status: str | None = None,
        limit: int = Query(PAGE_SIZE, ge=1, description=f"Runs per page; at most {PAGE_MAX}"),
        cursor: str | None = Query(None, description="The next_cursor of the previous page"),
    ) -> Response:
        try:  # each run's JSON is rendered once per change (run_json.py), not per request
            page = engine.page_runs_json(workflow_id, status, limit, cursor)
            return Response(page, media_type="application/json")
        except InvalidPage as exc:
            raise RequestValidationError(
                [{"type": "value_error", "loc": ("query", exc.field), "msg": str(exc)}]
            ) from exc

    @app.get("/api/runs/{run_id}")
    async def run(run_id: str) -> Response:
        return Response(engine.get_run_json(run_id), media_type="application/json")

    @app.post("/api/runs/{run_id}/retry", status_code=201)
    async def retry(run_id: str) -> dict[str, Any]:
        return engine.retry_run(run_id)

    @app.post("/api/runs/{run_id}/cancel")
    async def cancel(run_id: str) -> dict[str, Any]:
        return engine.cancel_run(run_id)

    @app.get("/api/audit")
    async def audit() -> dict[str, Any]:
        return {"items": engine.audit()}

    # triggers from outside ------------------------------------------------------------------
    @app.post("/hooks/{workflow_id}", status_code=202)
    async def hook(workflow_id: str, request: Request) -> JSONResponse:
        body = _json_body(request, await request.body(), "the webhook body")
        try:
            events = await engine.receive_hook(
                workflow_id, body, {k.lower(): v for k, v in request.headers.items()}
            )
        except StepError as exc:
            raise HTTPException(exc.status or 400, str(exc)) from exc
        return JSONResponse({"accepted": len(events), "event_ids": events}, 202)

    app.add_middleware(
        limits.InputGuard,
        service="engine",
        limits={"/api/": API_BODY_LIMIT, "/__sandbox/": API_BODY_LIMIT},
    )
    return app
