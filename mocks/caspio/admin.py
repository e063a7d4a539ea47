"""Caspio additions to ``/__sandbox/``: web services profiles, the integration-call meter and
orphaned webhooks (created by a profile that no longer exists)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request

from careflow.mocks.kernel.admin import read_document, tenant_of

from .errors import CaspioError
from .models import CaspioBackend, Profile


def _profile_out(p: Profile) -> dict[str, Any]:
    return {
        "name": p.name,
        "client_id": p.client_id,
        "client_secret": p.client_secret,
        "all_objects": p.all_objects,
        "can_create": p.can_create,
        "enabled": p.enabled,
    }


def build_admin_router(backend: CaspioBackend) -> APIRouter:
    router = APIRouter(prefix="/__sandbox", tags=["caspio"])

    @router.get("/profiles")
    def list_profiles(request: Request) -> dict[str, Any]:
        state = backend.state(tenant_of(request))
        return {"items": [_profile_out(p) for p in state.profiles.values()]}

    @router.post("/profiles", status_code=201)
    async def create_profile(request: Request) -> dict[str, Any]:
        body = await read_document(request)
        if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"]:
            raise HTTPException(422, "body needs a 'name'")
        try:
            profile = backend.add_profile(
                tenant_of(request),
                body["name"],
                all_objects=bool(body.get("all_objects", True)),
                can_create=bool(body.get("can_create", True)),
            )
        except CaspioError as exc:
            raise HTTPException(409, exc.message) from None
        return _profile_out(profile)

    @router.patch("/profiles/{name}")
    async def update_profile(request: Request, name: str) -> dict[str, Any]:
        state = backend.state(tenant_of(request))
        profile = state.profiles.get(name)
        if profile is None:
            raise HTTPException(404, f"no profile {name!r}")
        body = await read_document(request)
        for key in ("all_objects", "can_create", "enabled"):
            if key in body:
                setattr(profile, key, bool(body[key]))
        return _profile_out(profile)

    @router.delete("/profiles/{name}")
    def delete_profile(request: Request, name: str) -> dict[str, Any]:
        if not backend.delete_profile(tenant_of(request), name):
            raise HTTPException(404, f"no profile {name!r}")
        return {"deleted": name}

    @router.get("/meter")
    def meter(request: Request) -> dict[str, Any]:
        return dict(backend.state(tenant_of(request)).meter)

    @router.post("/meter")
    async def set_meter(request: Request) -> dict[str, Any]:
        state = backend.state(tenant_of(request))
        body = await read_document(request)
        if "over_quota" in body and body["over_quota"] not in ("record", "error"):
            raise HTTPException(422, "over_quota is 'record' or 'error'")
        for key in ("allowance", "used", "overage"):
            if key in body and (not isinstance(body[key], int) or body[key] < 0):
                raise HTTPException(422, f"{key} must be a non-negative integer")
        state.meter.update(
            {k: body[k] for k in ("allowance", "used", "overage", "over_quota") if k in body}
        )
        return dict(state.meter)

    @router.get("/orphans")
    def orphans(request: Request) -> dict[str, Any]:
        items = backend.hooks.orphans(backend.state(tenant_of(request)))
        return {"count": len(items), "items": items}

    @router.delete("/orphans")
    def delete_orphans(request: Request) -> dict[str, Any]:
        state = backend.state(tenant_of(request))
        items = backend.hooks.orphans(state)
        for hook in items:
            state.webhooks.pop(hook["Id"], None)
        return {"count": len(items), "items": items}

    return router
