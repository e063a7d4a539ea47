"""The fakes' control plane: the request journal (filters as the admin API) and faults."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from .present import mask
from .reader import ServiceError, gather_dict
from .web import dashboard, redirect, revealed

JOURNAL_SHOWN = 200
FAULT_KINDS = ("error", "latency", "timeout", "drop")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def register(router: APIRouter) -> None:
    @router.get("/journal")
    async def journal(
        request: Request,
        service: str = "",
        method: str = "",
        path: str = "",
        status: str = "",
        correlation_id: str = "",
    ) -> Response:
        board = dashboard(request)
        fakes = await board.reader.fakes()
        services = [service] if service in fakes else fakes
        params = {
            k: v
            for k, v in {
                "method": method.upper(),
                "path": path,
                "status": status,
                "correlation_id": correlation_id,
            }.items()
            if v
        }
        problem = ""
        if status and not status.isdigit():
            problem, params = "status is an HTTP status code, such as 500.", {}
        got = await gather_dict(
            {s: board.reader.admin(s, "GET", "/journal", params=params) for s in services}
        )
        entries = []
        for s in services:
            answer = got[s]
            if isinstance(answer, ServiceError):
                problem = problem or f"{s}: {answer.detail}"
                continue
            entries += [{**e, "service": s} for e in answer["items"]]
        entries.sort(key=lambda e: (e.get("order") or 0, e.get("time") or ""), reverse=True)
        reveal = revealed(request)
        return board.render(
            request,
            "journal.html",
            http_status=400 if problem and not entries else 200,
            title="Request journal",
            section="journal",
            entries=[mask(e, reveal) for e in entries[:JOURNAL_SHOWN]],
            total=len(entries),
            shown=JOURNAL_SHOWN,
            problem=problem,
            filters={
                "service": service,
                "method": method.upper(),
                "path": path,
                "status": status,
                "correlation_id": correlation_id,
            },
            services=fakes,
            methods=METHODS,
        )

    @router.get("/faults")
    async def faults(request: Request) -> Response:
        board = dashboard(request)
        fakes = await board.reader.fakes()
        got = await gather_dict({s: board.reader.admin(s, "GET", "/faults") for s in fakes})
        rows = []
        for s in fakes:
            if isinstance(got[s], dict):
                rows += [{**f, "service": s} for f in got[s]["items"]]
        return board.render(
            request,
            "faults.html",
            title="Faults",
            section="faults",
            faults=rows,
            services=fakes,
            kinds=FAULT_KINDS,
            methods=METHODS,
            down=[s for s in fakes if isinstance(got[s], ServiceError)],
        )

    @router.post("/faults")
    async def add_fault(request: Request) -> Response:
        form = await request.form()
        service = str(form.get("service", ""))
        fakes = await dashboard(request).reader.fakes()
        if service not in fakes:
            return redirect(request, "/ui/faults", f"Pick a service ({', '.join(fakes)}).")
        try:
            spec = fault_spec({k: str(v) for k, v in form.items()})
        except ValueError as exc:
            return redirect(request, "/ui/faults", str(exc))
        try:
            created = await dashboard(request).reader.admin(service, "POST", "/faults", json=spec)
        except ServiceError as exc:
            return redirect(request, "/ui/faults", f"The fault was refused: {exc.detail}")
        note = f"Fault #{created['id']} added on {service}."
        if created.get("warning"):
            note += f" Warning: {created['warning']}"
        return redirect(request, "/ui/faults", note)

    @router.post("/faults/clear")
    async def clear_faults(request: Request) -> Response:
        form = await request.form()
        service = str(form.get("service", ""))
        reader = dashboard(request).reader
        fakes = await reader.fakes()
        targets = [service] if service in fakes else fakes
        got = await gather_dict({s: reader.admin(s, "DELETE", "/faults") for s in targets})
        deleted = sum(a.get("deleted", 0) for a in got.values() if isinstance(a, dict))
        return redirect(request, "/ui/faults", f"Cleared {deleted} fault(s).")

    @router.post("/faults/{service}/{fault_id}/delete")
    async def delete_fault(request: Request, service: str, fault_id: str) -> Response:
        if service not in await dashboard(request).reader.fakes() or not fault_id.isdigit():
            return redirect(request, "/ui/faults", "No such fault.")
        try:
            await dashboard(request).reader.admin(service, "DELETE", f"/faults/{fault_id}")
        except ServiceError as exc:
            return redirect(request, "/ui/faults", f"Not deleted: {exc.detail}")
        return redirect(request, "/ui/faults", f"Fault #{fault_id} on {service} deleted.")


def fault_spec(form: dict[str, str]) -> dict[str, Any]:
    """The admin API's fault body from the form (DESIGN.md "Fault"); empty fields are left out."""
    path = form.get("path", "").strip()
    if not (path.startswith("/") or path == "*"):
        raise ValueError("A fault needs a path starting with / (e.g. /api/v1/track), or *.")
    kind = form.get("kind", "error")
    if kind not in FAULT_KINDS:
        raise ValueError(f"kind is one of {', '.join(FAULT_KINDS)}.")
    spec: dict[str, Any] = {"path": path, "kind": kind}
    if form.get("method"):
        spec["method"] = form["method"].upper()
    for name, cast in (
        ("status", int),
        ("times", int),
        ("retry_after", int),
        ("latency_ms", int),
        ("probability", float),
    ):
        text = form.get(name, "").strip()
        if text:
            try:
                spec[name] = cast(text)
            except ValueError:
                raise ValueError(f"{name} must be a number (got {text!r}).") from None
    return spec
