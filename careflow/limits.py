"""Input limits of every service of the stack, in one place (the fakes' kernel middleware and
the engine's app both call it): what a request may carry, and the 4xx it gets when it carries
more. DESIGN.md: "Bad input never gets a 5xx ... and nothing is stored".

- Body size: over ``BODY_LIMIT`` (10 MiB; a service passes less where its vendor documents
  less) → 413, decided from ``Content-Length`` before anything is read when it is declared.
- Body time: a body that does not arrive within ``body_timeout()`` seconds (a client that sent
  less than its ``Content-Length``) → 408; the connection is closed.
- JSON: checked by ``careflow.strictjson`` (NaN/Infinity, huge integers, nesting deeper than 64,
  lone surrogates → 400). Bodies up to 256 KiB are parsed on the loop in one C call; bigger ones in
  a worker thread, in bounded slices, so that one big body never holds the shared event loop
  (``careflow up`` serves all four services on one). The parsed document is kept in the ASGI
  scope (``cached_json``) so the route does not parse it again.
- Forms: a body that is not UTF-8 once percent-decoded → 400.
- YAML (admin seeds, engine workflows): at most ``YAML_LIMIT`` (1 MiB; send JSON for more),
  parsed in a worker thread (PyYAML's pure-Python loader lets the loop run), checked like JSON.
- Query strings: an integer of more than 40 digits in any parameter → 400.

Anything else a route raises is the caller's 500 (``InputGuard`` for the engine, the kernel's
middleware for the fakes): one log line, the service's error shape, never a traceback page.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

import careflow.strictjson as strictjson

from .strictjson import MAX_INT_DIGITS, SLICE, JSONRefused

BODY_LIMIT = 10 * 1024 * 1024
YAML_LIMIT = 1024 * 1024
DRAIN_LIMIT = 64 * 1024 * 1024  # a declared body up to this is read (and dropped) before a 413
BODY_TIMEOUT_ENV = "CAREFLOW_BODY_TIMEOUT"
DEFAULT_BODY_TIMEOUT = 30.0
JSON_KEY = "careflow.json"
MISSING: Any = object()
_BIG_INT = re.compile(rf"[+-]?\d{{{MAX_INT_DIGITS + 1},}}")

log = logging.getLogger("careflow")

ErrorShape = Callable[[int, str, Scope], tuple[Any, dict[str, str]]]


class BadInput(Exception):
    """A request the service refuses: ``status`` (4xx) and a message saying what to change."""

    def __init__(self, status: int, message: str, part: str = "body") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.part = part  # "body" or "query": what the caller must change


class ClientGone(Exception):
    """The client disconnected before its body arrived: nobody is left to answer."""


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def body_timeout() -> float:
    """``CAREFLOW_BODY_TIMEOUT`` (seconds, > 0) when set, else 30."""
    raw = os.environ.get(BODY_TIMEOUT_ENV, "")
    if raw == _timeout_seen[0]:
        return _timeout_seen[1]
    try:
        value = float(raw.strip()) if raw.strip() else DEFAULT_BODY_TIMEOUT
    except ValueError:
        value = DEFAULT_BODY_TIMEOUT
    value = value if value > 0 and math.isfinite(value) else DEFAULT_BODY_TIMEOUT
    _timeout_seen[:] = [raw, value]
    return value


_timeout_seen: list[Any] = ["", DEFAULT_BODY_TIMEOUT]  # the last value read, and its meaning


def too_large(limit: int) -> BadInput:
    return BadInput(
        413,
        f"the request body is over this service's limit of {limit:,} bytes ({limit // 1024} KiB)",
    )


async def read_body(
    scope: Scope, receive: Receive, *, limit: int = BODY_LIMIT, timeout: float | None = None
) -> bytes:
    """The whole request body, within ``limit`` bytes and ``timeout`` seconds (BadInput 413 /
    408 otherwise; ClientGone when the client hung up)."""
    declared_text: bytes | None = None
    chunked = False
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            declared_text = value
        elif key == b"transfer-encoding":
            chunked = True
    if (declared_text is None or declared_text == b"0") and not chunked:
        # no body announced (HTTP/1.1: none follows): the server hands an empty one at once, so
        # no timer is armed (most requests: every GET)
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone
            body += message.get("body", b"")
            if len(body) > limit:
                raise too_large(limit)
            if not message.get("more_body"):
                return body
    declared = int(declared_text) if declared_text and declared_text.isdigit() else None
    return await _read_announced(receive, declared, limit, timeout)


async def _read_announced(
    receive: Receive, declared: int | None, limit: int, timeout: float | None
) -> bytes:
    seconds = timeout if timeout is not None else body_timeout()
    body = bytearray()
    try:
        async with asyncio.timeout(seconds):
            if declared is not None and declared > limit:
                if declared <= DRAIN_LIMIT:  # read and drop it, so the client reads the 413
                    await _drain(receive)
                raise too_large(limit)
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise ClientGone
                chunk = message.get("body", b"")
                if not body and not message.get("more_body") and len(chunk) <= limit:
                    return chunk  # type: ignore[no-any-return]  # the usual case: one message
                body += chunk
                if len(body) > limit:
                    await _drain(receive, DRAIN_LIMIT - len(body))
                    raise too_large(limit)
                if not message.get("more_body"):
                    return bytes(body)
    except TimeoutError:
        raise BadInput(
            408,
            f"the request body did not arrive within {seconds:g} s (was it shorter than its "
            "Content-Length?)",
        ) from None


async def _drain(receive: Receive, budget: int = DRAIN_LIMIT) -> None:
    while budget > 0:
        message = await receive()
        if message["type"] == "http.disconnect" or not message.get("more_body"):
            return
        budget -= len(message.get("body", b""))


def kind_of(scope: Scope, raw: bytes) -> str | None:
    """What a body is: ``json``, ``yaml``, ``form``, ``multipart`` or None (other/empty)."""
    if not raw:
        return None
    content_type = (header(scope, b"content-type") or "").lower()
    if "json" in content_type:
        return "json"
    if "yaml" in content_type:
        return "yaml"
    if "x-www-form-urlencoded" in content_type:
        return "form"
    if "multipart/" in content_type:
        return "multipart"
    if raw.lstrip()[:1] in (b"{", b"["):
        return "json"
    return None


def check_query(scope: Scope) -> None:
    """Refuse an integer of more than 40 digits in any query parameter."""
    query: bytes = scope.get("query_string", b"")
    if len(query) <= MAX_INT_DIGITS:
        return
    for pair in query.split(b"&"):
        name, _, value = pair.partition(b"=")
        if len(value) > MAX_INT_DIGITS:
            text = unquote_to_bytes(value.replace(b"+", b" ")).decode("latin-1").strip()
            if _BIG_INT.fullmatch(text):
                shown = unquote_to_bytes(name).decode("utf-8", "replace")[:40]
                raise BadInput(
                    400,
                    f"query parameter {shown!r}: an integer of {len(text)} digits is too large "
                    f"(at most {MAX_INT_DIGITS})",
                    "query",
                )


def check_form(raw: bytes) -> None:
    """A urlencoded body must be UTF-8, its percent-escapes too."""
    try:
        text = raw.decode("utf-8")
        for pair in text.split("&"):
            if "%" in pair:
                unquote_to_bytes(pair.replace("+", " ")).decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(400, "the form body is not valid UTF-8 (percent-escapes included)") from None


async def check_body(scope: Scope, raw: bytes, *, yaml_limit: int = YAML_LIMIT) -> None:
    """Refuse a body no route of this stack could take (BadInput); keep a parsed JSON body in
    the scope. A small body that is not JSON at all is left to the route, whose vendor has its
    own words for it; a big one is refused here (the route must not parse it on the loop)."""
    kind = kind_of(scope, raw)
    if kind == "json":
        if len(raw) <= SLICE:
            try:
                doc = strictjson.loads(raw)
            except JSONRefused as exc:
                raise BadInput(400, f"the JSON body is refused: {exc}") from None
            except (ValueError, UnicodeDecodeError):
                return
        else:
            doc = await asyncio.to_thread(_parse_big, raw)
        scope.setdefault("state", {})[JSON_KEY] = doc
    elif kind == "form":
        if len(raw) <= SLICE:
            check_form(raw)
        else:
            await asyncio.to_thread(check_form, raw)
    elif kind == "yaml" and len(raw) > yaml_limit:
        raise BadInput(413, f"YAML bodies are limited to {yaml_limit // 1024} KiB; send JSON")


def _parse_big(raw: bytes) -> Any:
    try:
        return strictjson.loads_sliced(raw)
    except JSONRefused as exc:
        raise BadInput(400, f"the JSON body is refused: {exc}") from None
    except UnicodeDecodeError:
        raise BadInput(400, "the JSON body is not valid UTF-8") from None
    except ValueError as exc:
        raise BadInput(400, f"the body is not valid JSON: {exc}") from None


def cached_json(scope: Scope) -> Any:
    """The JSON body ``check_body`` parsed, or ``MISSING``."""
    return scope.get("state", {}).get(JSON_KEY, MISSING)


def body_json(scope: Scope, raw: bytes) -> Any:
    """The request's JSON body: the checked one when the guard parsed it, else ``json.loads``
    (which raises what routes expect: ValueError, RecursionError)."""
    doc = cached_json(scope)
    return doc if doc is not MISSING else json.loads(raw)


async def parse_document(raw: bytes, *, yaml_limit: int = YAML_LIMIT) -> Any:
    """A JSON or YAML document (YAML only when it is not JSON), parsed off the loop and
    checked; BadInput 400 (or 413 for big YAML) with the parser's message otherwise."""
    try:
        if len(raw) <= SLICE:
            return strictjson.loads(raw)
        return await asyncio.to_thread(strictjson.loads_sliced, raw)
    except JSONRefused as exc:
        raise BadInput(400, f"the document is refused: {exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        json_error = exc
    if len(raw) > yaml_limit:
        raise BadInput(
            413, f"YAML documents are limited to {yaml_limit // 1024} KiB (send JSON for more)"
        )
    return await asyncio.to_thread(_yaml, raw, json_error)


def _yaml(raw: bytes, json_error: Exception) -> Any:
    # PyYAML loads here, off the loop, with the first YAML body
    import careflow.strictyaml as strictyaml

    try:
        return strictyaml.load(raw)
    except JSONRefused as exc:
        raise BadInput(400, f"the document is refused: {exc}") from None
    except Exception as exc:  # YAMLError, and the ValueError of a 5,000-digit integer
        reason = str(exc).replace("\n", " ")[:500]
        raise BadInput(
            400, f"the body is neither JSON ({json_error}) nor YAML ({reason})"
        ) from None


def unexpected(exc: BaseException, scope: Scope, service: str) -> str:
    """Log one line for an exception no rule expected; the message a 500 carries."""
    log.error(
        "%s: unexpected %s on %s %s: %s",
        service,
        type(exc).__name__,
        scope.get("method"),
        scope.get("path"),
        str(exc)[:300],
    )
    return (
        f"internal error ({type(exc).__name__}) in the {service} sandbox; this is a careflow bug, "
        "please report it with the request that caused it"
    )


async def send_json(send: Send, status: int, body: Any, headers: dict[str, str]) -> None:
    payload = json.dumps(body, ensure_ascii=True).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw += [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in headers.items()]
    if status == 408:
        raw.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


def detail_error(status: int, message: str, _scope: Scope) -> tuple[Any, dict[str, str]]:
    """The FastAPI shape, ``{"detail": message}`` (the engine, the fakes' admin API). Callers
    answer a refused value with 422, as FastAPI does for a body it cannot validate."""
    return {"detail": message}, {}


def detail_status(status: int) -> int:
    """The status of a refusal in the FastAPI shape: 400 becomes FastAPI's 422."""
    return 422 if status == 400 else status


def json_safe(value: Any) -> Any:
    """A document an error echoes, made encodable: NaN/infinity and strings that cannot be
    encoded (lone surrogates) become readable text, so a 422 never turns into a 500."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {json_safe(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, BaseException):
        return str(value)
    return value


def replay(raw: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the body already read, then the real channel."""
    delivered = False

    async def inner() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": raw, "more_body": False}
        return await receive()

    return inner


class InputGuard:
    """ASGI middleware: the limits above, then the app; an unexpected exception becomes one
    log line and a 500 in ``error``'s shape. ``limits`` maps path prefixes to smaller limits."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        service: str,
        error: ErrorShape = detail_error,
        limit: int = BODY_LIMIT,
        limits: dict[str, int] | None = None,
    ) -> None:
        self.app = app
        self.service = service
        self.error = error
        self.limit = limit
        self.limits = limits or {}

    def limit_for(self, path: str) -> int:
        return next((v for k, v in self.limits.items() if path.startswith(k)), self.limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await guarded(
            scope, receive, send, self.app, self.service, self.error, self.limit_for(scope["path"])
        )


async def guarded(
    scope: Scope,
    receive: Receive,
    send: Send,
    app: Callable[[Scope, Receive, Send], Awaitable[None]],
    service: str,
    error: ErrorShape,
    limit: int = BODY_LIMIT,
) -> None:
    """Read and check the request, run ``app``; bad input and unexpected errors answered in
    ``error``'s shape."""
    try:
        check_query(scope)
        raw = await read_body(scope, receive, limit=limit)
        await check_body(scope, raw)
    except BadInput as exc:
        status = detail_status(exc.status) if error is detail_error else exc.status
        body, headers = error(status, exc.message, scope)
        await send_json(send, status, body, headers)
        return
    except ClientGone:
        return
    started = False

    async def noting(message: Message) -> None:
        nonlocal started
        started = started or message["type"] == "http.response.start"
        await send(message)

    try:
        await app(scope, replay(raw, receive), noting)
    except Exception as exc:
        if started:
            raise
        body, headers = error(500, unexpected(exc, scope, service), scope)
        await send_json(send, 500, body, headers)
