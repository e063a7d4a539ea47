"""The ``/__sandbox/`` control plane every fake serves (see DESIGN.md, "The admin surface")."""

from __future__ import annotations

import re
import sqlite3
import uuid
from typing import Any

from fastapi import APIRouter, Body, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.routing import Match

import careflow.limits as limits
from careflow.clock import clock_router

from .backend import DEFAULT_TENANT, CredentialRefused
from .core import Kernel
from .faults import FaultSpec
from .verify import MatcherError, parse_matcher, verify

TENANT_HEADER = "X-Sandbox-Tenant"

_PAIRS = {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}}
VERIFY_BODY = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "method": {"type": "string"},
                    "path": {"type": "string", "description": "exact, or /api/v1/leads/{id}"},
                    "path_regex": {"type": "string", "description": "the whole path matches"},
                    "query": {**_PAIRS, "additionalProperties": True},
                    "headers": _PAIRS,
                    "json": {"description": "a subset of the JSON (or form) body"},
                    "status": {"type": "integer"},
                    "times": {"type": "integer", "minimum": 0},
                    "at_least": {"type": "integer", "minimum": 0, "default": 1},
                    "never": {"type": "boolean"},
                },
            }
        }
    }
}


class TenantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")


def tenant_of(request: Request) -> str:
    return (
        request.headers.get(TENANT_HEADER) or request.query_params.get("tenant") or (DEFAULT_TENANT)
    )


async def read_document(request: Request) -> Any:
    """A JSON or YAML request body, parsed off the event loop and checked (careflow.limits);
    a clear 422 when it is neither (400/413 when it is refused)."""
    raw = await request.body()
    if not raw.strip():
        return {}
    cached = limits.cached_json(request.scope)
    if cached is not limits.MISSING:
        return cached
    try:
        return await limits.parse_document(raw)
    except limits.BadInput as exc:
        raise HTTPException(limits.detail_status(exc.status), exc.message) from None


def serves(app: Any, pattern: str) -> bool:
    """Whether any route of ``app`` answers a path of this fault pattern (any method)."""
    probe = re.sub(r"\{[^}/]+\}", "1", pattern)
    scope = {"type": "http", "path": probe, "method": "GET", "root_path": "", "headers": []}
    return any(route.matches(scope)[0] != Match.NONE for route in app.routes)


def build_admin_router(kernel: Kernel) -> APIRouter:
    router = APIRouter(prefix="/__sandbox", tags=["sandbox"])

    def backend() -> Any:
        assert kernel.backend is not None
        return kernel.backend

    @router.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "service": kernel.service}

    @router.post("/reset")
    async def reset(request: Request, all: bool = Query(False)) -> dict[str, Any]:
        explicit = TENANT_HEADER.lower() in request.headers or "tenant" in request.query_params
        tenant = tenant_of(request) if explicit and not all else None
        await kernel.settle()
        kernel.reset(tenant)
        return {"status": "reset", "service": kernel.service, "tenant": tenant or "*"}

    @router.get("/state")
    async def export_state(request: Request) -> dict[str, Any]:
        tenant = tenant_of(request)
        return {
            "service": kernel.service,
            "tenant": tenant,
            "clock": kernel.clock.snapshot(),
            "state": backend().export_state(tenant),
        }

    @router.post("/state")
    async def import_state(request: Request) -> dict[str, Any]:
        doc = await read_document(request)
        if not isinstance(doc, dict) or not isinstance(doc.get("state"), dict):
            raise HTTPException(
                422, "expected the document GET /__sandbox/state returns: {'service', 'state'}"
            )
        if doc.get("service", kernel.service) != kernel.service:
            raise HTTPException(
                422, f"this is the {kernel.service} fake; the document is {doc['service']!r}"
            )
        tenant = tenant_of(request)
        try:
            backend().import_state(tenant, doc["state"])
        except CredentialRefused as exc:
            raise HTTPException(422, str(exc)) from exc
        except (KeyError, TypeError, ValueError, AttributeError, sqlite3.Error) as exc:
            # load_state builds a fresh state and installs it only when whole: nothing changed
            raise HTTPException(422, f"state document rejected: {exc}") from exc
        return {"status": "imported", "service": kernel.service, "tenant": tenant}

    @router.post("/seed")
    async def seed(request: Request) -> dict[str, Any]:
        doc = await read_document(request)
        if not isinstance(doc, dict):
            raise HTTPException(422, "seed body must be a JSON/YAML object")
        try:
            added = backend().seed(tenant_of(request), doc)
        except CredentialRefused as exc:
            raise HTTPException(422, str(exc)) from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise HTTPException(422, f"seed rejected: {exc}") from exc
        return {"status": "seeded", "service": kernel.service, "added": added}

    router.include_router(clock_router(kernel.clock, kernel.settle))

    @router.post("/settle")
    async def settle() -> dict[str, str]:
        """Wait until background work (webhook attempts, pipelines) has finished."""
        await kernel.settle()
        return {"status": "settled", "service": kernel.service}

    def explicit_tenant(request: Request) -> str | None:
        explicit = TENANT_HEADER.lower() in request.headers or "tenant" in request.query_params
        return tenant_of(request) if explicit else None

    @router.get("/journal")
    async def journal(
        request: Request,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        correlation_id: str | None = None,
        tenant: str | None = None,
    ) -> dict[str, Any]:
        """Every vendor request received (masked), oldest first; ``dropped`` counts what the
        ring buffer (``capacity`` entries) let go. ``X-Sandbox-Tenant`` or ``?tenant=``
        scopes it to one tenant."""
        scope = explicit_tenant(request)
        items = kernel.journal.items(
            method=method,
            path=path,
            status=status,
            correlation_id=correlation_id,
            tenant=scope,
        )
        return {
            "items": items,
            "dropped": kernel.journal.dropped(scope),
            "capacity": kernel.journal.capacity,
        }

    @router.post("/journal/verify", openapi_extra={"requestBody": VERIFY_BODY})
    async def journal_verify(request: Request) -> dict[str, Any]:
        """Did this fake receive the requests a test expects? (DESIGN.md, "Verify")"""
        raw = await request.body()
        try:
            doc = limits.body_json(request.scope, raw) if raw.strip() else {}
        except (ValueError, RecursionError) as exc:
            raise HTTPException(422, f"the matcher is not JSON: {exc}") from exc
        try:
            matcher = parse_matcher(doc)
        except MatcherError as exc:
            raise HTTPException(422, str(exc)) from exc
        scope = explicit_tenant(request)
        return verify(
            kernel.journal.records(tenant=scope),
            matcher,
            kernel.masker,
            service=kernel.service,
            dropped=kernel.journal.dropped(scope),
        )

    @router.get("/faults")
    async def list_faults(request: Request) -> dict[str, Any]:
        """Every fault, or with a tenant header/parameter those that can hit that tenant."""
        faults = kernel.faults.items()
        if (tenant := explicit_tenant(request)) is not None:
            faults = [f for f in faults if f.spec.tenant in (None, tenant)]
        return {"items": [f.as_dict() for f in faults]}

    @router.post("/faults", status_code=201)
    async def add_fault(spec: FaultSpec, request: Request) -> dict[str, Any]:
        if spec.tenant is None and (tenant := explicit_tenant(request)) is not None:
            spec = spec.model_copy(update={"tenant": tenant})
        if spec.tenant is not None and not backend().has_tenant(spec.tenant):
            raise HTTPException(
                422, f"no tenant {spec.tenant!r} (create it with POST /__sandbox/tenants)"
            )
        created = kernel.faults.add(spec).as_dict()
        if "*" not in spec.path and not serves(request.app, spec.path):
            created["warning"] = (
                f"this fake serves no route at {spec.path}: the fault fires only on requests "
                "to that exact path (a typo?)"
            )
        return created

    @router.delete("/faults")
    async def clear_faults(request: Request) -> dict[str, Any]:
        """Every fault, or with a tenant header/parameter only that tenant's."""
        return {"deleted": kernel.faults.clear(explicit_tenant(request))}

    @router.delete("/faults/{fault_id}", status_code=204)
    async def delete_fault(fault_id: int) -> Response:
        if not kernel.faults.remove(fault_id):
            raise HTTPException(404, f"no fault with id {fault_id}")
        return Response(status_code=204)

    @router.get("/webhooks/deliveries")
    async def deliveries(status: str | None = None, tenant: str | None = None) -> dict[str, Any]:
        items = [d.as_dict(kernel.masker) for d in kernel.webhooks.items(tenant)]
        return {"items": [d for d in items if status is None or d["status"] == status]}

    @router.post("/webhooks/deliveries/{delivery_id}/redeliver")
    async def redeliver(delivery_id: int) -> dict[str, Any]:
        if kernel.webhooks.get(delivery_id) is None:
            raise HTTPException(404, f"no delivery with id {delivery_id}")
        delivery = await kernel.webhooks.redeliver(delivery_id)
        return delivery.as_dict(kernel.masker)

    @router.get("/tenants")
    async def tenants() -> dict[str, Any]:
        return {"items": [{"tenant": t} for t in backend().tenants()]}

    @router.post("/tenants", status_code=201)
    async def create_tenant(
        body: TenantCreate = Body(default_factory=TenantCreate),
    ) -> dict[str, Any]:
        name = body.name or f"t-{uuid.uuid4().hex[:12]}"
        if backend().has_tenant(name):
            raise HTTPException(409, f"tenant {name!r} exists")
        state = backend().state(name)
        return {"tenant": name, "credentials": backend().credentials_of(state)}

    @router.delete("/tenants/{name}", status_code=204)
    async def delete_tenant(name: str) -> Response:
        if not backend().drop_tenant(name):
            raise HTTPException(404, f"no tenant {name!r} (the default tenant cannot be deleted)")
        kernel.journal.clear(name)
        kernel.webhooks.clear(name)
        return Response(status_code=204)

    @router.get("/info")
    async def info(request: Request) -> dict[str, Any]:
        """The demo credentials of a tenant (what the stack info file shows)."""
        return backend().credentials_of(backend().state(tenant_of(request)))

    return router
