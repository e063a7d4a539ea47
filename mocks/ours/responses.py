"""HTTP translation for the Ingest API (``/api/v1/...``); facts: docs/vendors/ours-privacy.md.

Only parsing, auth and status codes live here; the rules are in models.py and pipeline.py.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from careflow.limits import body_json
from careflow.mocks.kernel import format_instant

from .errors import BadRequest, InvalidEvent, PayloadTooLarge, Unauthorized, UnsupportedMediaType
from .models import OursBackend, OursState, Source
from .pipeline import Pipeline
from .validation import TOKEN_MAX, parse_event, parse_identify
from .vendor import VENDOR

PREFIX = "/api/v1"
# [?] §5 the /batch limits are not published (413 carries "limit"); the fake's choices:
MAX_BATCH_ROWS = 1000
MAX_BATCH_BYTES = 5 * 1024 * 1024
# [?] §6 no /track size limit is published beyond eventProperties < 1,048,576 UTF-16 units
# ([C] sdk-py); the fake answers 400 for single-event bodies above 1 MiB.
MAX_EVENT_BYTES = 1024 * 1024
OK = {"success": True}


def vendor_spec() -> dict[str, Any]:
    return VENDOR.spec()


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return body_json(request.scope, raw)
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
        now = self.backend.kernel.clock.now()
        now_ms, stamp = now.timestamp() * 1000, format_instant(now)  # one instant per request
        results: list[dict[str, Any]] = []
        accepted: list[str] = []
        failed = 0
        ingest = self.backend.ingest
        with state.lock:  # the rows are recorded together, in order
            for index, raw in enumerate(rows):
                try:
                    row = parse_event(raw, now_ms, in_batch=True)
                except InvalidEvent as exc:
                    failed += 1
                    results.append(
                        {
                            "index": index,
                            "success": False,
                            "code": "invalid_event",
                            "message": str(exc),
                        }
                    )
                    continue
                event = ingest(state, source, mode, row, stamp)
                if event is not None:
                    accepted.append(event["id"])
                results.append({"index": index, "success": True})
        self.pipeline.submit(tenant, accepted)
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
