"""A fast lane through a FastAPI app's routes: the simple routes served as plain Starlette would.

FastAPI's per-request machinery (its router's matching through included routers, dependency
solving, two exit stacks, telemetry hooks) costs several times what the fakes' own health route
does: measured in-process, ~80 of a health request's ~90 µs (issue 18). ``FastLane`` is an ASGI
middleware placed innermost (just outside FastAPI's exception middleware): it resolves a request's
route itself, and when that route is *simple* — its endpoint takes only the ``Request`` and
``str`` path parameters, with no dependencies, body, query, header or cookie parameters, no
streaming — it calls the endpoint directly and answers exactly as FastAPI would (the same
``scope["route"]``/``path_params``/``endpoint``, FastAPI's own ``serialize_response`` for a
non-``Response`` result, the app's exception handlers). Anything else goes on to FastAPI
untouched: other routes, 404s and 405s, a route an earlier mount or unknown entry might shadow.

The table is built from the app's route list at the first request (and again if the list grows),
in order, so precedence is FastAPI's: the first full match wins. Routes an app includes from an
``APIRouter`` are expanded through the router FastAPI keeps; an entry the lane does not
understand (a newer FastAPI's layout, a mount, an include with dependencies) sends every request
that could reach it to FastAPI. At worst the lane serves nothing and the app behaves as before.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from starlette._exception_handler import wrap_app_handling_exceptions
from starlette.concurrency import run_in_threadpool
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

try:  # FastAPI's own serialization, so that a dict result is encoded byte for byte as before
    from fastapi.datastructures import DefaultPlaceholder
    from fastapi.routing import APIRoute, serialize_response
    from fastapi.utils import is_body_allowed_for_status_code
except ImportError:  # pragma: no cover - a FastAPI without them: the lane stays empty
    APIRoute = None  # type: ignore[assignment,misc]

CACHE_SIZE = 2048  # (method, path) resolutions remembered; cleared whole when full
_FALLBACK = None  # a resolution that sends the request on to FastAPI


@dataclass(frozen=True)
class _Served:
    """A simple route the lane answers itself."""

    route: Any  # the APIRoute (what FastAPI puts in scope["route"])
    endpoint: Callable[..., Any]
    request_name: str | None
    is_coroutine: bool
    response_class: type[Response]
    default_class: bool  # no response_class set anywhere: FastAPI's dump_json path applies

    async def answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        values: dict[str, Any] = dict(scope["path_params"])
        if self.request_name is not None:
            values[self.request_name] = request
        if self.is_coroutine:
            raw = await self.endpoint(**values)
        else:
            raw = await run_in_threadpool(self.endpoint, **values)
        response = raw if isinstance(raw, Response) else await self.render(raw)
        await response(scope, receive, send)

    async def render(self, raw: Any) -> Response:
        """What FastAPI's request handler makes of a result that is not a ``Response``."""
        route = self.route
        field = route.response_field
        dump_json = field is not None and self.default_class
        content = await serialize_response(
            field=field,
            response_content=raw,
            include=route.response_model_include,
            exclude=route.response_model_exclude,
            by_alias=route.response_model_by_alias,
            exclude_unset=route.response_model_exclude_unset,
            exclude_defaults=route.response_model_exclude_defaults,
            exclude_none=route.response_model_exclude_none,
            is_coroutine=self.is_coroutine,
            dump_json=dump_json,
        )
        args: dict[str, Any] = {"background": None}
        if route.status_code:
            args["status_code"] = route.status_code
        if dump_json:
            response = Response(content=content, media_type="application/json", **args)
        else:
            response = self.response_class(content, **args)
        if not is_body_allowed_for_status_code(response.status_code):
            response.body = b""
        return response


@dataclass(frozen=True)
class _Entry:
    """One route in the app's order: ``served`` when the lane answers it, else FastAPI does."""

    regex: Any  # compiled path regex; None: the entry may match anything (unknown)
    convertors: dict[str, Any]
    methods: frozenset[str] | None  # None: any method
    served: _Served | None
    mount: str | None = None  # a mount's path: matches it and everything under it

    def match(self, path: str) -> dict[str, Any] | None:
        if self.mount is not None:
            hit = path == self.mount or path.startswith(self.mount + "/")
            return {} if hit else None
        if self.regex is None:
            return {}
        found = self.regex.match(path)
        if found is None:
            return None
        return {k: self.convertors[k].convert(v) for k, v in found.groupdict().items()}


def _placeholder(value: Any) -> bool:
    return isinstance(value, DefaultPlaceholder)


def _simple(route: Any, context: Any) -> _Served | None:
    """The route as the lane serves it, or None when FastAPI must (anything beyond a request
    and ``str`` path parameters, or settings the lane does not reproduce)."""
    dependant = getattr(route, "dependant", None)
    endpoint = getattr(route, "endpoint", None)
    if dependant is None or endpoint is None or route.dependencies:
        return None
    if context is not None and (
        context.dependencies
        or getattr(context, "max_body_size", None) is not None
        or not _placeholder(context.default_response_class)
    ):
        return None
    if (
        dependant.dependencies
        or dependant.query_params
        or dependant.header_params
        or dependant.cookie_params
        or dependant.body_params
        or getattr(route, "body_field", None) is not None
        or getattr(route, "max_body_size", None) is not None
        or getattr(route, "is_sse_stream", False)
        or getattr(route, "is_json_stream", False)
        or getattr(route, "stream_item_field", None) is not None
    ):
        return None
    specials = (
        "websocket_param_name",
        "http_connection_param_name",
        "response_param_name",
        "background_tasks_param_name",
        "security_scopes_param_name",
    )
    if any(getattr(dependant, name, None) is not None for name in specials):
        return None
    for param in dependant.path_params:
        info = param.field_info
        if info.annotation is not str or info.metadata or param.alias != param.name:
            return None
    call = inspect.unwrap(endpoint)
    if inspect.isgeneratorfunction(call) or inspect.isasyncgenfunction(call):
        return None
    response_class = route.response_class
    default_class = _placeholder(response_class)
    if context is not None and not _placeholder(context.included_router.default_response_class):
        return None
    return _Served(
        route=route,
        endpoint=endpoint,
        request_name=dependant.request_param_name,
        is_coroutine=inspect.iscoroutinefunction(call),
        response_class=response_class.value if default_class else response_class,
        default_class=default_class,
    )


def _entries(routes: list[BaseRoute], prefix: str = "", context: Any = None) -> Iterator[_Entry]:
    """The app's routes in FastAPI's order, included routers expanded."""
    unknown = _Entry(None, {}, None, None)
    for route in routes:
        original = getattr(route, "original_router", None)  # FastAPI's included router
        if original is not None:
            include = getattr(route, "include_context", None)
            if include is None or not isinstance(getattr(include, "prefix", None), str):
                yield unknown
                continue
            yield from _entries(list(original.routes), prefix + include.prefix, include)
        elif isinstance(route, Mount):
            yield _Entry(None, {}, None, None, mount=(prefix + route.path).rstrip("/"))
        elif APIRoute is not None and isinstance(route, APIRoute):
            regex, _fmt, convertors = compile_path(prefix + route.path)
            served = _simple(route, context)
            yield _Entry(regex, convertors, frozenset(route.methods or ()), served)
        elif isinstance(route, Route):
            regex, _fmt, convertors = compile_path(prefix + route.path)
            methods = frozenset(route.methods) if route.methods else None
            yield _Entry(regex, convertors, methods, None)
        else:
            yield unknown


class FastLane:
    """ASGI middleware: the app's simple routes answered without FastAPI's machinery.

    Install it innermost (``app.add_middleware(FastLane, router=app.router)`` before any other
    ``add_middleware``): its ``app`` is then FastAPI's exception middleware, whose handlers
    the lane uses for what its routes raise."""

    def __init__(self, app: ASGIApp, router: Any) -> None:
        self.app = app
        self.router = router
        self._built_for = -1
        self._entries: list[_Entry] = []
        self._cache: dict[tuple[str, str], tuple[_Served, dict[str, Any]] | None] = {}
        handlers = (
            (app._exception_handlers, app._status_handlers)  # what it would set in the scope
            if isinstance(app, ExceptionMiddleware)
            else None
        )
        self._handlers = handlers if APIRoute is not None else None

    def _table(self) -> list[_Entry]:
        routes = self.router.routes
        if len(routes) != self._built_for:
            self._entries = list(_entries(list(routes)))
            self._cache.clear()
            self._built_for = len(routes)
        return self._entries

    def resolve(self, method: str, path: str) -> tuple[_Served, dict[str, Any]] | None:
        """The served route and path parameters for a request, or None (FastAPI answers)."""
        entries = self._table()
        key = (method, path)
        try:
            return self._cache[key]
        except KeyError:
            pass
        found = _FALLBACK
        for entry in entries:
            params = entry.match(path)
            if params is None:
                continue
            if entry.mount is not None or entry.regex is None:
                break  # something the lane does not serve may answer: FastAPI decides
            if entry.methods is not None and method not in entry.methods:
                continue  # a partial match: a later route may still match in full
            if entry.served is not None:
                found = (entry.served, params)
            break
        if len(self._cache) >= CACHE_SIZE:
            self._cache.clear()
        self._cache[key] = found
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._handlers is None or scope["type"] != "http" or scope.get("root_path"):
            await self.app(scope, receive, send)
            return
        resolved = self.resolve(scope["method"], scope["path"])
        if resolved is None:
            await self.app(scope, receive, send)
            return
        served, params = resolved
        scope["starlette.exception_handlers"] = self._handlers
        scope["endpoint"] = served.endpoint
        scope["route"] = served.route
        scope["path_params"] = {**scope.get("path_params", {}), **params}
        scope.setdefault("router", self.router)
        request = Request(scope, receive, send)
        await wrap_app_handling_exceptions(served.answer, request)(scope, receive, send)
