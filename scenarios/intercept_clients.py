"""The client patches behind ``careflow.intercept``: one adapter per HTTP client library.

Each adapter asks the open block's stack what to do with a request's ``scheme://host:port``
(``InterceptStack.decide``): answer it in-process (``fake``), let it go as usual (``pass``,
loopback) or refuse it (``block``), and turns the answer (or an injected timeout / dropped
connection) into what that library would have produced over a socket.

- httpx / httpx2: ``HTTPTransport.handle_request`` and ``AsyncHTTPTransport.handle_async_request``
  (class attributes: clients built before the block are covered);
- urllib3 2.x (and so ``requests``): ``HTTPConnectionPool._make_request``, below the pool's
  retry and redirect logic, which still applies; no connection is opened for a faked host;
- ``urllib.request``: ``AbstractHTTPHandler.do_open``, under every opener;
- aiohttp (when installed): ``ClientSession._request``;
- sockets: ``socket.connect``/``connect_ex`` to a non-loopback address are refused.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import socket
import urllib.error
import urllib.request
import urllib.response
from collections.abc import Callable
from http.client import HTTPMessage, RemoteDisconnected, responses
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from careflow.mocks.kernel import is_loopback_host

from .intercept import FaultDropped, FaultTimeout

if TYPE_CHECKING:
    from .intercept import InterceptStack

StackGetter = Callable[[], "InterceptStack | None"]
_MISSING = object()
_saved: list[tuple[Any, str, Any]] = []  # (owner, attribute, its own value or _MISSING)


def _patch(owner: Any, name: str, make: Callable[[Any], Any]) -> None:
    """Replace ``owner.name`` (perhaps inherited) with ``make(current)``; ``uninstall`` undoes."""
    _saved.append((owner, name, owner.__dict__.get(name, _MISSING)))
    setattr(owner, name, make(getattr(owner, name)))


def install(get_stack: StackGetter) -> None:
    """Patch every client library that is installed (done once, while a block is open)."""
    for module in ("httpx", "httpx2"):
        if importlib.util.find_spec(module) is not None:
            _patch_httpx(importlib.import_module(module), get_stack)
    if importlib.util.find_spec("urllib3") is not None:
        _patch_urllib3(get_stack)
    _patch_urllib(get_stack)
    if importlib.util.find_spec("aiohttp") is not None:
        from .intercept_aiohttp import patch_aiohttp

        patch_aiohttp(_patch, get_stack)
    _patch_sockets(get_stack)


def uninstall() -> None:
    while _saved:
        owner, name, original = _saved.pop()
        if original is _MISSING:
            delattr(owner, name)
        else:
            setattr(owner, name, original)


def _reason(status: int) -> str:
    return responses.get(status, "")


def _body_bytes(body: Any) -> bytes:
    """A request body as bytes, whatever form a library hands it over in."""
    if body is None:
        return b""
    if isinstance(body, bytes | bytearray | memoryview):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        return _body_bytes(body.read())
    return b"".join(_body_bytes(chunk) for chunk in body)


# httpx and httpx2 ------------------------------------------------------------------------------


def _patch_httpx(httpx: Any, get_stack: StackGetter) -> None:
    def answer(request: Any, result: tuple[int, list[tuple[bytes, bytes]], bytes]) -> Any:
        status, headers, content = result
        extensions = {"http_version": b"HTTP/1.1", "reason_phrase": _reason(status).encode()}
        return httpx.Response(
            status, headers=headers, content=content, request=request, extensions=extensions
        )

    def sync_handle(real: Any) -> Any:
        def handle_request(transport: Any, request: Any) -> Any:
            stack = get_stack()
            url = request.url
            decision, name = (
                stack.decide(url.scheme, url.host, url.port) if stack else ("pass", None)
            )
            if decision == "pass":
                return real(transport, request)
            assert stack is not None
            if decision == "block":
                raise stack.refuse(f"{request.method} {url}", url.host)
            try:
                result = stack.send(
                    name, request.method, str(url), request.headers.raw, request.read()
                )
            except FaultTimeout as exc:
                raise httpx.ReadTimeout(str(exc), request=request) from None
            except FaultDropped as exc:
                raise httpx.RemoteProtocolError(str(exc), request=request) from None
            return answer(request, result)

        return handle_request

    def async_handle(real: Any) -> Any:
        async def handle_async_request(transport: Any, request: Any) -> Any:
            stack = get_stack()
            url = request.url
            decision, name = (
                stack.decide(url.scheme, url.host, url.port) if stack else ("pass", None)
            )
            if decision == "pass":
                return await real(transport, request)
            assert stack is not None
            if decision == "block":
                raise stack.refuse(f"{request.method} {url}", url.host)
            body = await request.aread()
            try:
                result = await stack.asend(
                    name, request.method, str(url), request.headers.raw, body
                )
            except FaultTimeout as exc:
                raise httpx.ReadTimeout(str(exc), request=request) from None
            except FaultDropped as exc:
                raise httpx.RemoteProtocolError(str(exc), request=request) from None
            return answer(request, result)

        return handle_async_request

    _patch(httpx.HTTPTransport, "handle_request", sync_handle)
    _patch(httpx.AsyncHTTPTransport, "handle_async_request", async_handle)


# urllib3 (and requests) ------------------------------------------------------------------------


def _patch_urllib3(get_stack: StackGetter) -> None:
    import urllib3
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
    from urllib3.exceptions import ProtocolError, ReadTimeoutError

    if int(urllib3.__version__.split(".")[0]) < 2:
        return  # urllib3 1.x: only the socket guard applies

    def target(pool: Any, url: str) -> tuple[str, str, int | None, str]:
        """(scheme, host, port, full URL); ``url`` is absolute when sent through a proxy."""
        if url.startswith(("http://", "https://")):
            parts = urlsplit(url)
            return parts.scheme, parts.hostname or "", parts.port, url
        default = {"http": 80, "https": 443}.get(pool.scheme)
        port = f":{pool.port}" if pool.port and pool.port != default else ""
        return pool.scheme, pool.host, pool.port, f"{pool.scheme}://{pool.host}{port}{url}"

    def make_request(real: Any) -> Any:
        def _make_request(
            pool: Any, conn: Any, method: str, url: str, *args: Any, **kw: Any
        ) -> Any:
            stack = get_stack()
            scheme, host, port, full = target(pool, url)
            decision, name = stack.decide(scheme, host, port) if stack else ("pass", None)
            if decision == "pass":
                return real(pool, conn, method, url, *args, **kw)
            assert stack is not None
            if decision == "block":
                raise stack.refuse(f"{method} {full}", host)
            names = (
                "body",
                "headers",
                "retries",
                "timeout",
                "chunked",
                "response_conn",
                "preload_content",
                "decode_content",
                "enforce_content_length",
            )
            given = dict(zip(names, args, strict=False)) | kw
            headers = dict(given.get("headers") or {})
            try:
                status, raw_headers, content = stack.send(
                    name, method, full, headers.items(), _body_bytes(given.get("body"))
                )
            except FaultTimeout as exc:
                raise ReadTimeoutError(pool, url, f"Read timed out. ({exc})") from None
            except FaultDropped as exc:
                raise ProtocolError("Connection aborted.", RemoteDisconnected(str(exc))) from None
            response = urllib3.HTTPResponse(
                body=io.BytesIO(content),
                headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw_headers],
                status=status,
                version=11,
                version_string="HTTP/1.1",
                reason=_reason(status),
                preload_content=given.get("preload_content", True),
                decode_content=given.get("decode_content", True),
                pool=pool,
                connection=given.get("response_conn"),
                retries=given.get("retries"),
                request_method=method,
                request_url=full,
            )
            return response

        return _make_request

    def prepare_proxy(real: Any) -> Any:
        def _prepare_proxy(pool: Any, conn: Any) -> None:
            stack = get_stack()
            if stack is not None and stack.decide(pool.scheme, pool.host, pool.port)[0] == "fake":
                return None  # answered in-process: no tunnel through the proxy
            return real(pool, conn)  # type: ignore[no-any-return]

        return _prepare_proxy

    _patch(HTTPConnectionPool, "_make_request", make_request)
    if "_prepare_proxy" in HTTPSConnectionPool.__dict__:
        _patch(HTTPSConnectionPool, "_prepare_proxy", prepare_proxy)


# urllib.request --------------------------------------------------------------------------------


def _patch_urllib(get_stack: StackGetter) -> None:
    def do_open(real: Any) -> Any:
        def do_open(handler: Any, http_class: Any, req: Any, **kwargs: Any) -> Any:
            stack = get_stack()
            parts = urlsplit(req.full_url)
            scheme, host, port = parts.scheme, parts.hostname or "", parts.port
            decision, name = stack.decide(scheme, host, port) if stack else ("pass", None)
            if decision == "pass":
                return real(handler, http_class, req, **kwargs)
            assert stack is not None
            method = req.get_method()
            if decision == "block":
                raise stack.refuse(f"{method} {req.full_url}", host)
            headers = dict(req.unredirected_hdrs)
            headers.update(req.headers)
            headers.setdefault("Host", req.host)
            try:
                status, raw_headers, content = stack.send(
                    name, method, req.full_url, headers.items(), _body_bytes(req.data)
                )
            except FaultTimeout as exc:
                raise urllib.error.URLError(TimeoutError(str(exc))) from None
            except FaultDropped as exc:
                raise RemoteDisconnected(str(exc)) from None
            message = HTTPMessage()
            for key, value in raw_headers:
                message[key.decode("latin-1")] = value.decode("latin-1")
            response = urllib.response.addinfourl(
                io.BytesIO(content), message, req.full_url, status
            )
            response.msg = response.reason = _reason(status)  # type: ignore[attr-defined]
            return response

        return do_open

    _patch(urllib.request.AbstractHTTPHandler, "do_open", do_open)


# sockets ---------------------------------------------------------------------------------------


def _patch_sockets(get_stack: StackGetter) -> None:
    def check(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
            host = str(address[0])
            stack = get_stack()
            if stack is not None and not is_loopback_host(host):
                raise stack.refuse(f"connect {host}:{address[1]}", host)

    def connect(real: Any) -> Any:
        def connect(sock: socket.socket, address: Any) -> None:
            check(sock, address)
            return real(sock, address)  # type: ignore[no-any-return]

        return connect

    def connect_ex(real: Any) -> Any:
        def connect_ex(sock: socket.socket, address: Any) -> int:
            check(sock, address)
            return real(sock, address)  # type: ignore[no-any-return]

        return connect_ex

    _patch(socket.socket, "connect", connect)
    _patch(socket.socket, "connect_ex", connect_ex)
