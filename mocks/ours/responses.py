"""HTTP translation for the Ingest API (``/api/v1/...``) and the Ours admin additions.

Only parsing, auth and status codes live here; the rules are in models.py and pipeline.py.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import yaml
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from mocks.kernel.admin import tenant_of

from .errors import BadRequest, InvalidEvent, PayloadTooLarge, Unauthorized, UnsupportedMediaType
from .models import TOKEN_MAX, OursBackend, OursState, Source, parse_event, parse_identify
from .pipeline import Pipeline

PREFIX = "/api/v1"
# [?] §5 the /batch limits are not published (413 carries "limit"); the fake's choices:
MAX_BATCH_ROWS = 1000
MAX_BATCH_BYTES = 5 * 1024 * 1024
# [?] §6 no /track size limit is published beyond eventProperties < 1,048,576 UTF-16 units
# ([C] sdk-py); the fake answers 400 for single-event bodies above 1 MiB.
MAX_EVENT_BYTES = 1024 * 1024
OK = {"success": True}


@cache
def vendor_spec() -> dict[str, Any]:
    text = resources.files("contracts").joinpath("ours.yaml").read_text()
    return yaml.safe_load(text)


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("request body is not valid JSON") from exc
    except RecursionError as exc:
        raise BadRequest("request body is nested too deeply") from exc


class Ingest:
    """The Ingest API endpoints over one backend and pipeline."""

    def __init__(self, backend: OursBackend, pipeline: Pipeline) -> None:
        self.backend = backend
        self.pipeline = pipeline

    def now_ms(self) -> float:
        return self.backend.kernel.clock.now().timestamp() * 1000

    def authorise(self, request: Request, token: Any) -> tuple[str, OursState, Source, str]:
        """[C] §1 the source key is the ``token`` field of the JSON body; [C] docs/auth 401 for
        a missing or invalid key; [C] §8 a disabled or unpublished source accepts no events."""
        if token is None or (isinstance(token, str) and not token.strip()):
            raise Unauthorized('missing API key: send your source key as "token"')
        if not isinstance(token, str) or len(token.strip()) > TOKEN_MAX:
            raise BadRequest(f"token must be a string of 1-{TOKEN_MAX} characters")
        token = token.strip()
        tenant = self.backend.tenant_for(token)
        if tenant is None:
            raise Unauthorized("invalid API key")
        request.state.tenant = tenant
        state = self.backend.state(tenant)
        found = self.backend.resolve_token(state, token)
        if found is None:
            raise Unauthorized("invalid API key")
        source, mode = found
        if not source.accepts_events:
            raise Unauthorized(
                f"source {source.id} does not accept events ({source.status}, "
                f"{'published' if source.is_published else 'not published'})"
            )
        return tenant, state, source, mode

    async def track(self, request: Request) -> dict[str, Any]:
        body = await self._object(request, MAX_EVENT_BYTES)
        tenant, state, source, mode = self.authorise(request, body.get("token"))
        if source.type != "HTTPApiSource":
            raise Unauthorized("this key belongs to a webhook source; post to its webhook URL")
        try:
            row = parse_event(body, self.now_ms())
        except InvalidEvent as exc:
            raise BadRequest(str(exc)) from exc
        event = self.backend.ingest(state, source, mode, row)
        self.pipeline.submit(tenant, [event["id"]] if event else [])
        return OK

    async def identify(self, request: Request) -> dict[str, Any]:
        body = await self._object(request, MAX_EVENT_BYTES)
        tenant, state, source, mode = self.authorise(request, body.get("token"))
        if source.type != "HTTPApiSource":
            raise Unauthorized("this key belongs to a webhook source; post to its webhook URL")
        try:
            row = parse_identify(body)
        except InvalidEvent as exc:
            raise BadRequest(str(exc)) from exc
        event = self.backend.ingest(state, source, mode, row)  # [C] §4 fires $identify
        self.pipeline.submit(tenant, [event["id"]] if event else [])
        return OK

    async def batch(self, request: Request) -> JSONResponse:
        # [C] §5 request-level failures: 400, 401, 413 (+ "limit"), 415; no row accepted.
        content_type = request.headers.get("content-type", "")
        if "json" not in content_type.lower():
            raise UnsupportedMediaType("Content-Type must be application/json")
        body = await self._object(request, MAX_BATCH_BYTES)
        tenant, state, source, mode = self.authorise(request, body.get("token"))
        if source.type != "HTTPApiSource":
            raise Unauthorized("this key belongs to a webhook source; post to its webhook URL")
        rows = body.get("events")
        if not isinstance(rows, list) or not rows:
            raise BadRequest("events must be a non-empty array")
        if len(rows) > MAX_BATCH_ROWS:
            raise PayloadTooLarge(
                f"at most {MAX_BATCH_ROWS} events per batch", limit=MAX_BATCH_ROWS
            )
        now_ms = self.now_ms()
        results: list[dict[str, Any]] = []
        accepted: list[str] = []
        for index, raw in enumerate(rows):
            try:
                row = parse_event(raw, now_ms, in_batch=True)
            except InvalidEvent as exc:
                results.append(
                    {"index": index, "success": False, "code": "invalid_event", "message": str(exc)}
                )
                continue
            event = self.backend.ingest(state, source, mode, row)
            if event is not None:
                accepted.append(event["id"])
            results.append({"index": index, "success": True})
        self.pipeline.submit(tenant, accepted)
        failed = sum(1 for r in results if not r["success"])
        # [C] §5 200 when every row was accepted, 207 when some failed ([?] also when all did).
        return JSONResponse(
            {
                "success": failed == 0,
                "accepted": len(rows) - failed,
                "failed": failed,
                "results": results,
            },
            200 if failed == 0 else 207,
        )

    async def webhook(self, request: Request, token: str) -> dict[str, Any]:
        """[C] §11 webhook sources: the token is in the URL path (a test URL carries the test
        token); [C] fields are mapped from paths in the posted body. [?] URL format and answer."""
        request.state.journal_path = f"{PREFIX}/webhooks/***"
        tenant, state, source, mode = self.authorise(request, token)
        if source.type != "Webhook":
            raise Unauthorized("this key is not a webhook source's")
        body = await _json_body(request)
        if not isinstance(body, dict):
            raise BadRequest("webhook body must be a JSON object")
        mapped: dict[str, Any] = {"eventProperties": body}
        for field in ("event", "userId", "externalId", "email", "distinctId", "time"):
            path = source.field_map.get(field, field)
            value = _lookup(body, path)
            if value is not None:
                mapped[field] = value
        mapped.setdefault("event", source.field_map.get("defaultEvent", "webhook_received"))
        if "userId" not in mapped and isinstance(body.get("ours_user_id"), str):
            mapped["userId"] = body["ours_user_id"]  # [C] §10 ours_user_id stitches the visitor
        try:
            row = parse_event(mapped, self.now_ms())
        except InvalidEvent as exc:
            raise BadRequest(str(exc)) from exc
        event = self.backend.ingest(state, source, mode, row)
        self.pipeline.submit(tenant, [event["id"]] if event else [])
        return OK

    async def _object(self, request: Request, limit: int) -> dict[str, Any]:
        raw = await request.body()
        if len(raw) > limit:
            if limit == MAX_BATCH_BYTES:
                raise PayloadTooLarge(f"body over {limit} bytes", limit=limit)
            raise BadRequest(f"body over {limit} bytes")
        body = await _json_body(request)
        if not isinstance(body, dict):
            raise BadRequest("body must be a JSON object")
        return body


def _lookup(body: dict[str, Any], path: str) -> Any:
    current: Any = body
    for part in path.split("."):
        if not isinstance(current, dict):
            return None
        current = current.get(part)
    return current


def build_ingest_router(ingest: Ingest) -> APIRouter:
    router = APIRouter(prefix=PREFIX)
    router.add_api_route("/track", ingest.track, methods=["POST"])
    router.add_api_route("/identify", ingest.identify, methods=["POST"])
    router.add_api_route("/batch", ingest.batch, methods=["POST"])
    router.add_api_route("/webhooks/{token}", ingest.webhook, methods=["POST"])

    @router.get("/openapi")
    def openapi() -> dict[str, Any]:
        return vendor_spec()

    return router


# --- admin additions (/__sandbox/...) -----------------------------------------------------------


def build_admin_router(backend: OursBackend, pipeline: Pipeline) -> APIRouter:
    router = APIRouter(prefix="/__sandbox", tags=["ours"])
    kernel = backend.kernel

    def state_of(request: Request) -> tuple[str, OursState]:
        tenant = tenant_of(request)
        return tenant, backend.state(tenant)

    def source_of(state: OursState, source_id: str) -> Source:
        if source_id not in state.sources:
            raise HTTPException(404, f"no source {source_id!r}")
        return state.sources[source_id]

    def base_url(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    def source_out(request: Request, source: Source) -> dict[str, Any]:
        return {**source.as_dict(), **source.tokens(base_url(request))}

    @router.get("/sources")
    def list_sources(request: Request) -> dict[str, Any]:
        _tenant, state = state_of(request)
        return {"items": [source_out(request, s) for s in state.sources.values()]}

    @router.post("/sources", status_code=201)
    async def create_source(request: Request) -> dict[str, Any]:
        tenant, state = state_of(request)
        body = await _admin_body(request)
        try:
            source = backend.create_source(tenant, state, body)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc
        return source_out(request, source)

    @router.get("/sources/{source_id}")
    def get_source(request: Request, source_id: str) -> dict[str, Any]:
        _tenant, state = state_of(request)
        return source_out(request, source_of(state, source_id))

    @router.patch("/sources/{source_id}")
    async def update_source(request: Request, source_id: str) -> dict[str, Any]:
        _tenant, state = state_of(request)
        source = source_of(state, source_id)
        try:
            backend.update_source(state, source, await _admin_body(request))
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc
        return source_out(request, source)

    @router.get("/sources/{source_id}/tokens")
    def source_tokens(request: Request, source_id: str) -> dict[str, Any]:
        _tenant, state = state_of(request)
        return source_of(state, source_id).tokens(base_url(request))

    @router.post("/sources/{source_id}/rotate")
    def rotate(request: Request, source_id: str) -> dict[str, Any]:
        tenant, state = state_of(request)
        source = backend.rotate_source(tenant, state, source_of(state, source_id))
        return source_out(request, source)

    @router.get("/events")
    async def events(
        request: Request,
        event: str | None = None,
        email: str | None = None,
        visitor_id: str | None = None,
        mode: str | None = None,
        source: str | None = None,
        status: str | None = None,
    ) -> dict[str, Any]:
        """Recent Events ([C] §9 filters: event name, email, visitor ID, source). Dropped
        (not allow-listed) events are not shown ([C] allow-listing docs)."""
        await kernel.settle()
        _tenant, state = state_of(request)
        with state.lock:
            items = []
            for item in state.events:
                visitor = state.visitors[item["mode"]].get(item["visitor_id"])
                emails = {
                    item["identifiers"]["email"],
                    visitor.properties.get("email") if visitor else None,
                }
                if (
                    item["status"] == "dropped"
                    or (event and item["event"].casefold() != event.casefold())
                    or (email and email.casefold() not in {e.casefold() for e in emails if e})
                    or (visitor_id and item["visitor_id"] != visitor_id)
                    or (mode and item["mode"] != mode)
                    or (
                        source
                        and source not in (item["source"], state.sources[item["source"]].name)
                    )
                    or (status and item["status"] != status)
                ):
                    continue
                items.append(dict(item))
        return {"items": items}

    @router.get("/dispatches")
    async def dispatches(
        request: Request,
        destination: str | None = None,
        event_id: str | None = None,
        event: str | None = None,
    ) -> dict[str, Any]:
        await kernel.settle()
        _tenant, state = state_of(request)
        with state.lock:
            items = [
                dict(d)
                for d in state.dispatches
                if (destination is None or d["destination"] == destination)
                and (event_id is None or d["event_id"] == event_id)
                and (event is None or d["event"].casefold() == event.casefold())
            ]
        return {"items": items}

    @router.get("/visitors")
    def visitors(request: Request, mode: str = "live") -> dict[str, Any]:
        _tenant, state = state_of(request)
        with state.lock:
            return {"items": [v.as_dict() for v in state.visitors.get(mode, {}).values()]}

    @router.get("/visitors/{visitor_id}")
    def visitor(request: Request, visitor_id: str, mode: str = "live") -> dict[str, Any]:
        _tenant, state = state_of(request)
        found = state.visitors.get(mode, {}).get(visitor_id)
        if found is None:
            raise HTTPException(404, f"no {mode} visitor {visitor_id!r}")
        return found.as_dict()

    @router.get("/allowed-events")
    def allowed_events(request: Request) -> dict[str, Any]:
        _tenant, state = state_of(request)
        return {"items": [a.as_dict() for a in state.allowed_events]}

    @router.put("/allowed-events")
    async def put_allowed_events(request: Request) -> dict[str, Any]:
        body = await _admin_body(request)
        return _configure(request, {"allowed_events": body.get("items", [])}, allowed_events)

    @router.get("/destinations")
    def destinations(request: Request) -> dict[str, Any]:
        _tenant, state = state_of(request)
        return {"items": [d.as_dict() for d in state.destinations.values()]}

    @router.post("/destinations", status_code=201)
    async def add_destination(request: Request) -> dict[str, Any]:
        body = await _admin_body(request)
        _configure(request, {"destinations": [body]}, destinations)
        _tenant, state = state_of(request)
        return state.destinations[str(body["id"])].as_dict()

    @router.get("/data-governance")
    def governance(request: Request) -> dict[str, Any]:
        _tenant, state = state_of(request)
        return {"items": [g.as_dict() for g in state.governance]}

    @router.put("/data-governance")
    async def put_governance(request: Request) -> dict[str, Any]:
        body = await _admin_body(request)
        return _configure(request, {"data_governance": body.get("items", [])}, governance)

    def _configure(request: Request, data: dict[str, Any], then: Any) -> dict[str, Any]:
        _tenant, state = state_of(request)
        try:
            with state.lock:
                backend._configure(state, data)
        except (KeyError, TypeError, ValueError) as exc:
            raise HTTPException(422, f"rejected: {exc}") from exc
        return then(request)

    return router


async def _admin_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise HTTPException(422, f"body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise HTTPException(422, "body must be a JSON object")
    return body
