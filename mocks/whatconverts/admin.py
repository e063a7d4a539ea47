"""WhatConverts additions to ``/__sandbox/``: webhook URLs per profile, and the daily quotas.
Facts: docs/vendors/whatconverts.md."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response

from careflow.mocks.kernel.admin import read_document, tenant_of

from .errors import WCError
from .models import WhatConvertsBackend


def build_admin_router(backend: WhatConvertsBackend) -> APIRouter:
    router = APIRouter(prefix="/__sandbox", tags=["whatconverts"])

    @router.get("/webhooks")
    async def webhooks(request: Request) -> dict[str, Any]:
        return {"items": backend.state(tenant_of(request)).webhooks}

    @router.post("/webhooks", status_code=201)
    async def add_webhook(request: Request) -> dict[str, Any]:
        body = await read_document(request)
        if not isinstance(body, dict):
            raise HTTPException(422, "expected {profile_id, url, triggers, lead_types}")
        try:
            return backend.add_webhook(backend.state(tenant_of(request)), body)
        except (ValueError, WCError) as exc:
            raise HTTPException(422, str(exc)) from exc

    @router.delete("/webhooks/{webhook_id}", status_code=204)
    async def delete_webhook(request: Request, webhook_id: int) -> Response:
        state = backend.state(tenant_of(request))
        kept = [h for h in state.webhooks if h["id"] != webhook_id]
        if len(kept) == len(state.webhooks):
            raise HTTPException(404, f"no webhook {webhook_id}")
        state.webhooks = kept
        return Response(status_code=204)

    @router.get("/quota")
    async def quota(request: Request) -> dict[str, Any]:
        state = backend.state(tenant_of(request))
        return {
            "limits": state.limits,
            "usage": [
                {"key": f"{t[:8]}…", "kind": state.keys[t].kind, "day": day, "requests": n}
                for t, (day, n) in state.usage.items()
                if t in state.keys
            ],
        }

    @router.put("/quota")
    async def set_quota(request: Request) -> dict[str, Any]:
        """Change the daily limits or the over-limit status ([?] §3: the vendor's status is not
        documented; 429 by default)."""
        body = await read_document(request)
        state = backend.state(tenant_of(request))
        if not isinstance(body, dict) or set(body) - {"profile", "master", "status"}:
            raise HTTPException(422, "expected any of {profile, master, status}")
        for name, value in body.items():
            if (
                not isinstance(value, int)
                or value < 0
                or (name == "status" and not 400 <= value <= 599)
            ):
                raise HTTPException(422, f"{name} must be a non-negative integer (status 4xx/5xx)")
        state.limits.update(body)
        return {"limits": state.limits}

    return router
