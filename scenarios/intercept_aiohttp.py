"""aiohttp under ``careflow.intercept`` (imported only when aiohttp is installed).

``ClientSession._request`` gets one more client middleware (aiohttp 3.12+), innermost: aiohttp
builds the request as usual (URL, params, auth, body, the session's own middlewares), then ours
answers it in-process for a faked host, before any connection or DNS lookup, with a real
``ClientResponse`` (so ``raise_for_status``, cookies and redirects behave as usual). Loopback
requests go on to the connector; any other host is refused.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy

from .intercept import FaultDropped, FaultTimeout

if TYPE_CHECKING:
    from .intercept import InterceptStack

StackGetter = Callable[[], "InterceptStack | None"]
Patcher = Callable[[Any, str, Callable[[Any], Any]], None]


class _Sent:
    """Stands in for the stream writer of a request that was already sent."""

    def __init__(self, size: int) -> None:
        self.output_size = size
        self.buffer_size = 0


async def _body(req: aiohttp.ClientRequest) -> bytes:
    body = req.body
    if body is None:
        return b""
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    as_bytes = getattr(body, "as_bytes", None)
    if as_bytes is not None:
        return await as_bytes()  # type: ignore[no-any-return]
    value = getattr(body, "_value", b"")
    return value if isinstance(value, bytes) else str(value).encode()


def _response(
    req: aiohttp.ClientRequest,
    session: aiohttp.ClientSession,
    result: tuple[int, list[tuple[bytes, bytes]], bytes],
    sent: int,
) -> aiohttp.ClientResponse:
    from http.client import responses

    from aiohttp.client_proto import ResponseHandler
    from aiohttp.helpers import TimerNoop

    status, raw_headers, content = result
    loop = req.loop
    offered = {
        "writer": None,
        "continue100": None,
        "timer": TimerNoop(),
        "request_info": req.request_info,
        "traces": [],
        "loop": loop,
        "session": session,
        "stream_writer": _Sent(sent),
    }
    accepted = inspect.signature(req.response_class.__init__).parameters
    kwargs = {k: v for k, v in offered.items() if k in accepted}
    response = req.response_class(req.method, req.original_url, **kwargs)
    response.version = aiohttp.HttpVersion11
    response.status = status
    response.reason = responses.get(status, "")
    headers: CIMultiDict[str] = CIMultiDict()
    for key, value in raw_headers:
        headers.add(key.decode("latin-1"), value.decode("latin-1"))
    response._headers = CIMultiDictProxy(headers)
    response._raw_headers = tuple(raw_headers)
    if cookies := headers.getall("Set-Cookie", ()):
        response._raw_cookie_headers = tuple(cookies)
    stream = aiohttp.StreamReader(ResponseHandler(loop), 2**16, loop=loop)
    stream.feed_data(content)
    stream.feed_eof()
    response.content = stream
    return response


def patch_aiohttp(patch: Patcher, get_stack: StackGetter) -> None:
    """Add the in-process middleware to every ``ClientSession`` request (aiohttp 3.12+)."""
    if "middlewares" not in inspect.signature(aiohttp.ClientSession._request).parameters:
        return  # older aiohttp: only the socket guard applies

    def make(real: Any) -> Any:
        async def _request(session: aiohttp.ClientSession, *args: Any, **kwargs: Any) -> Any:
            if get_stack() is None:
                return await real(session, *args, **kwargs)

            async def in_process(req: aiohttp.ClientRequest, handler: Any) -> Any:
                stack = get_stack()
                url = req.url
                decision, name = (
                    stack.decide(url.scheme, url.host or "", url.port) if stack else ("pass", None)
                )
                if decision == "pass":
                    return await handler(req)
                assert stack is not None and name is not None
                if decision == "block":
                    raise stack.refuse(f"{req.method} {url}", url.host or "")
                body = await _body(req)
                headers = [(k, v) for k, v in req.headers.items()]
                try:
                    result = await stack.asend(name, req.method, str(url), headers, body)
                except FaultTimeout as exc:
                    raise aiohttp.ServerTimeoutError(str(exc)) from None
                except FaultDropped as exc:
                    raise aiohttp.ServerDisconnectedError(str(exc)) from None
                return _response(req, session, result, len(body))

            given = kwargs.get("middlewares")
            existing = session._middlewares if given is None else given
            kwargs["middlewares"] = (*existing, in_process)
            return await real(session, *args, **kwargs)

        return _request

    patch(aiohttp.ClientSession, "_request", make)
