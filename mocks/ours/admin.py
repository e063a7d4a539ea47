"""The Ours Privacy additions to the ``/__sandbox/`` control plane: Recent Events, dispatches,
sources and keys (create, disable, rotate), visitors, allow-list, destinations, governance.
Facts: docs/vendors/ours-privacy.md."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request

from careflow.mocks.kernel.admin import tenant_of

from .models import OursBackend, OursState, Source


def build_admin_router(backend: OursBackend) -> APIRouter:
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
                backend.configure(state, data)
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
