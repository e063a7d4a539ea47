from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from careflow.engine import Engine
from careflow.mocks.kernel import VirtualClock


class Target:
    """A small HTTP service the HTTP step calls: fails ``fail`` times, then answers."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.fail = 0
        self.status = 503
        self.retry_after: str | None = None

        async def echo(request: Request) -> JSONResponse:
            body = await request.body()
            self.calls.append(
                {
                    "method": request.method,
                    "path": request.url.path,
                    "body": body.decode(),
                    "headers": dict(request.headers),
                }
            )
            if self.fail > 0:
                self.fail -= 1
                headers = {"Retry-After": self.retry_after} if self.retry_after else {}
                return JSONResponse({"error": "busy"}, self.status, headers=headers)
            return JSONResponse({"ok": True, "n": len(self.calls)})

        self.app = Starlette(
            routes=[Route("/{path:path}", echo, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])]
        )


class Harness:
    def __init__(self, tmp_path: Any, data_dir: bool = False) -> None:
        self.clock = VirtualClock("2026-03-02T09:00:00Z", frozen=True)
        self.target = Target()
        self.loop = asyncio.new_event_loop()
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.target.app))
        self.engine = Engine(
            clock=self.clock, http=self.http, data_dir=tmp_path / "engine" if data_dir else None
        )

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def idle(self) -> None:
        self.run(self.engine.run_until_idle())

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.idle()

    def workflow(self, steps: list[dict[str, Any]], activate: bool = True, **trigger: Any) -> str:
        wf = self.engine.create_workflow(
            {"name": "t", "trigger": trigger or {"app": "webhook"}, "steps": steps}
        )
        if activate:
            self.run(self.engine.activate(wf["id"]))
        return wf["id"]

    def fire(self, workflow_id: str, body: dict[str, Any], key: str | None = None) -> list[str]:
        headers = {"idempotency-key": key} if key else {}
        events = self.run(self.engine.receive_hook(workflow_id, body, headers))
        self.idle()
        return events

    def last_run(self, workflow_id: str) -> dict[str, Any]:
        return self.engine.list_runs(workflow_id)[0]

    def close(self) -> None:
        self.run(self.http.aclose())
        self.engine.store.close()
        self.loop.close()


@pytest.fixture
def h(tmp_path):
    harness = Harness(tmp_path)
    yield harness
    harness.close()


def http_step(step_id: str = "call", **params: Any) -> dict[str, Any]:
    return {
        "id": step_id,
        "app": "http",
        "action": "request",
        "params": {"method": "POST", "url": "http://127.0.0.1/x", **params},
    }
