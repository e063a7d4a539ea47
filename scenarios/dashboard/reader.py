"""How the dashboard reads and steers a stack: over its public HTTP surfaces only.

Every call goes to a URL of the stack info (``GET {engine}/__sandbox/stack``): the engine API,
each fake's ``/__sandbox/`` admin API, and — only where the admin API lacks something, such as
Caspio's ``q.where`` — the vendor API with the demo credentials. The HTTP client comes from the
stack (in-process stacks route by URL without sockets; served stacks use real loopback HTTP), so
the same dashboard works against either, and against a stack on another port.

Reads prefer the admin API: ``/__sandbox/state`` is not metered, so looking at the dashboard does
not change what a demo measures (the WhatConverts daily quota, the Caspio integration-call meter).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

# The vendors with pages of their own; the journal, faults, health and timeline pages cover
# every fake the stack info lists (a registered fourth vendor included).
FAKES = ("whatconverts", "caspio", "ours")
CASPIO_API = "/integrations/rest/v3"
ClientSource = Callable[[], httpx.AsyncClient]
InfoSource = dict[str, Any] | Callable[[], dict[str, Any]] | None


class ServiceError(Exception):
    """A stack call that did not answer as the page needed; the page says what to do."""

    def __init__(self, service: str, what: str, status: int | None, detail: str) -> None:
        self.service, self.what, self.status, self.detail = service, what, status, detail
        answered = f"answered {status}" if status else "did not answer"
        super().__init__(f"{service}: {what} {answered}: {detail}")


class NotFoundError(ServiceError):
    """The thing a page names (a run, a lead, a table) does not exist."""


class StackReader:
    """Async reads and actions against one stack, by URL."""

    def __init__(
        self,
        client: ClientSource,
        *,
        info: InfoSource = None,
        engine_url: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        """``info`` is the stack info (or a callable returning it); without it the dashboard
        reads ``{engine_url}/__sandbox/stack`` once."""
        self._client = client
        self._info = info
        self._engine_url = engine_url.rstrip("/") if engine_url else None
        self.timeout = timeout
        self._caspio_token: tuple[str, float] | None = None
        self._lock = asyncio.Lock()

    # stack info ----------------------------------------------------------------------------
    async def info(self) -> dict[str, Any]:
        if callable(self._info):
            return self._info()
        if self._info is None:
            if self._engine_url is None:
                raise ServiceError("engine", "stack info", None, "no engine URL was given")
            self._info = await self._json("engine", "GET", f"{self._engine_url}/__sandbox/stack")
        return self._info

    async def fakes(self) -> list[str]:
        """Every fake of the stack, in the info's order (entries with a URL, but the engine)."""
        info = await self.info()
        return [k for k, v in info.items() if k != "engine" and isinstance(v, dict) and "url" in v]

    async def services(self) -> list[str]:
        return ["engine", *await self.fakes()]

    async def url(self, service: str) -> str:
        return str((await self.info())[service]["url"]).rstrip("/")

    # raw calls -----------------------------------------------------------------------------
    async def request(self, service: str, method: str, path: str, **kw: Any) -> httpx.Response:
        url = f"{await self.url(service)}{path}"
        headers = {"X-Request-ID": f"dashboard-{uuid.uuid4().hex[:12]}", **kw.pop("headers", {})}
        try:
            return await self._client().request(
                method, url, headers=headers, timeout=kw.pop("timeout", self.timeout), **kw
            )
        except httpx.HTTPError as exc:
            raise ServiceError(
                service,
                f"{method} {path}",
                None,
                f"{type(exc).__name__}: {exc or 'no answer'} — is the stack still running at "
                f"{url.split('/__')[0]}?",
            ) from None

    async def _json(self, service: str, method: str, url: str) -> Any:
        try:
            response = await self._client().request(method, url, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise ServiceError(service, f"{method} {url}", None, str(exc)) from None
        return _checked(service, f"{method} {url}", response)

    async def call(self, service: str, method: str, path: str, **kw: Any) -> Any:
        """A call that must succeed (2xx); its JSON body (None when empty)."""
        response = await self.request(service, method, path, **kw)
        return _checked(service, f"{method} {path}", response)

    async def admin(self, service: str, method: str, path: str, **kw: Any) -> Any:
        return await self.call(service, method, f"/__sandbox{path}", **kw)

    async def engine(self, method: str, path: str, **kw: Any) -> Any:
        return await self.call("engine", method, path, **kw)

    # health and clock ----------------------------------------------------------------------
    async def health(self) -> dict[str, dict[str, Any]]:
        async def one(service: str) -> tuple[str, dict[str, Any]]:
            started = time.perf_counter()
            try:
                response = await self.request(service, "GET", "/__sandbox/health", timeout=2.0)
                ok = response.status_code == 200
                detail = "ok" if ok else f"HTTP {response.status_code}"
            except ServiceError as exc:
                ok, detail = False, exc.detail
            return service, {
                "ok": ok,
                "detail": detail,
                "ms": round((time.perf_counter() - started) * 1000, 1),
            }

        return dict(await asyncio.gather(*(one(s) for s in await self.services())))

    async def clock(self) -> dict[str, Any]:
        return await self.admin("engine", "GET", "/clock")

    async def move_clock(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self.admin("engine", "POST", "/clock", json=body)

    # engine --------------------------------------------------------------------------------
    async def runs_page(
        self,
        *,
        workflow_id: str = "",
        status: str = "",
        limit: int = 50,
        cursor: str = "",
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of runs, newest first, and the cursor of the next page (or None).

        The engine pages with ``limit``/``cursor`` → ``{"items", "next_cursor"}``; an engine
        that answers without ``next_cursor`` returns every run, so the page is cut here (with an
        offset cursor ``o:N``)."""
        params: dict[str, Any] = {"limit": limit}
        if workflow_id:
            params["workflow_id"] = workflow_id
        if status:
            params["status"] = status
        offset = 0
        if cursor.startswith("o:"):
            offset = int(cursor[2:]) if cursor[2:].isdigit() else 0
        elif cursor:
            params["cursor"] = cursor
        body = await self.engine("GET", "/api/runs", params=params)
        items = body.get("items", [])
        if "next_cursor" in body:
            return items, body["next_cursor"]
        page = items[offset : offset + limit]
        more = offset + limit < len(items)
        return page, (f"o:{offset + limit}" if more else None)

    async def all_runs(self, cap: int = 2000) -> list[dict[str, Any]]:
        """Newest first, up to ``cap`` (following ``next_cursor``)."""
        runs: list[dict[str, Any]] = []
        cursor = ""
        while len(runs) < cap:
            page, cursor_next = await self.runs_page(limit=min(1000, cap), cursor=cursor)
            runs.extend(page)
            if not cursor_next:
                break
            cursor = cursor_next
        return runs[:cap]

    async def workflows(self) -> list[dict[str, Any]]:
        return (await self.engine("GET", "/api/workflows"))["items"]

    # fakes ---------------------------------------------------------------------------------
    async def state(self, service: str) -> dict[str, Any]:
        """The fake's whole state (admin export: not metered, not quota-counted)."""
        return (await self.admin(service, "GET", "/state"))["state"]

    async def caspio_records(self, table: str, where: str, limit: int = 100) -> httpx.Response:
        """Records through Caspio's REST API (one integration call), for a ``q.where`` the
        admin export cannot evaluate. The OAuth token is cached until it expires."""
        params = {"q.where": where, "q.limit": str(limit)}
        path = f"{CASPIO_API}/tables/{table}/records"
        for attempt in range(2):
            token = await self._caspio_bearer(refresh=attempt > 0)
            response = await self.request(
                "caspio", "GET", path, params=params, headers={"Authorization": f"Bearer {token}"}
            )
            if response.status_code != 401:
                return response
        return response

    async def _caspio_bearer(self, refresh: bool) -> str:
        async with self._lock:
            now = time.monotonic()
            if self._caspio_token and not refresh and self._caspio_token[1] > now:
                return self._caspio_token[0]
            creds = (await self.info())["caspio"]
            body = await self.call(
                "caspio",
                "POST",
                "/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": creds["client_id"],
                    "client_secret": creds["client_secret"],
                },
            )
            lifetime = float(body.get("expires_in") or 3600)
            self._caspio_token = (body["access_token"], now + min(lifetime, 3600) / 2)
            return self._caspio_token[0]


def _checked(service: str, what: str, response: httpx.Response) -> Any:
    if response.status_code >= 400:
        detail = response.text[:500]
        try:
            body = response.json()
            if isinstance(body, dict) and "detail" in body:
                detail = _detail(body["detail"])
        except ValueError:
            pass
        cls = NotFoundError if response.status_code == 404 else ServiceError
        raise cls(service, what, response.status_code, detail)
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise ServiceError(service, what, response.status_code, "the answer is not JSON") from None


def _detail(detail: Any) -> str:
    """FastAPI's 422 list of problems as one line: ``field: message; ...``."""
    if isinstance(detail, list):
        return "; ".join(
            f"{'.'.join(str(p) for p in d.get('loc', [])[1:]) or 'body'}: {d.get('msg')}"
            if isinstance(d, dict)
            else str(d)
            for d in detail
        )
    return str(detail)


async def gather_dict(calls: dict[str, Awaitable[Any]]) -> dict[str, Any]:
    """Run named coroutines concurrently; a failed one yields its ServiceError as the value."""

    async def one(name: str, call: Awaitable[Any]) -> tuple[str, Any]:
        try:
            return name, await call
        except ServiceError as exc:
            return name, exc

    return dict(await asyncio.gather(*(one(n, c) for n, c in calls.items())))
