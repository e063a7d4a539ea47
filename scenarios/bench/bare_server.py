"""The baseline of ``careflow bench --sockets``: a bare Starlette app served by uvicorn with the
stack's own settings (``careflow.scenarios.server.SERVER_OPTIONS``), one process, one port.

Run as ``python -m careflow.scenarios.bench.bare_server ROUTES.json INFO.json``. ``ROUTES.json``
lists ``{"method", "path", "status", "body"}``: each route reads its request's body (JSON or
form, as the fake would) and answers the canned ``body`` — the fake's own answer to the same
request, captured once — encoded per request. So the bare app does the HTTP and JSON work of the
same route shapes and nothing else; fake ÷ bare is the cost of the fake's rules. The port is
written to ``INFO.json`` once it listens.
"""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from careflow.scenarios.server import SERVER_OPTIONS, run_loop, write_info


def endpoint(status: int, body: Any) -> Any:
    async def answer(request: Request) -> Response:
        if request.method in ("POST", "PUT", "PATCH"):
            if "form" in request.headers.get("content-type", ""):
                await request.form()
            else:
                raw = await request.body()
                if raw:
                    json.loads(raw)
        return JSONResponse(body, status)

    return answer


def bare_app(routes: list[dict[str, Any]]) -> Starlette:
    return Starlette(
        routes=[
            Route(r["path"], endpoint(r["status"], r["body"]), methods=[r["method"]])
            for r in routes
        ]
    )


def main(routes_file: str, info_file: str) -> None:
    app = bare_app(json.loads(Path(routes_file).read_text()))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    server = uvicorn.Server(uvicorn.Config(app, **SERVER_OPTIONS))

    async def serve() -> None:
        import asyncio

        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.005)
        write_info(Path(info_file), {"url": f"http://127.0.0.1:{sock.getsockname()[1]}"})
        await task

    run_loop(serve())


if __name__ == "__main__":
    main(*sys.argv[1:3])
