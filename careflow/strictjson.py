"""Strict JSON for untrusted request bodies: what ``json.loads`` accepts, minus what no service of
the stack can store or answer with, and parsed so that a big body never holds the event loop.

Refused (``JSONRefused``, a 400 for the caller): ``NaN``/``Infinity`` and numbers that overflow to
them (``1e999``), integers of more than ``MAX_INT_DIGITS`` digits, nesting deeper than
``MAX_DEPTH``, strings holding a lone UTF-16 surrogate (``"\\ud800"``: no UTF-8 encoding exists,
so it could be stored but never answered), and object keys that are not strings (YAML;
see ``careflow.strictyaml`` for its own limits).

Big bodies: ``json.loads`` is C code that holds the GIL for the whole document (a 10 MB array
takes about a second), so running it in a thread does not help the event loop. ``loads_sliced``
walks containers in Python and hands only bounded slices (at most ``SLICE`` characters) to the C
scanner, so a worker thread parsing a 10 MiB body lets the loop run every few milliseconds.
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
import math
import re
from datetime import date, datetime, time
from typing import Any

MAX_DEPTH = 64  # [?] nesting the sandbox accepts (.NET's and Newtonsoft's default, 64)
MAX_INT_DIGITS = 40  # beyond any 128-bit id; Python itself refuses more than 4,300
MAX_FLOAT_CHARS = 400  # a decimal longer than this is no measurement
SLICE = 256 * 1024  # the most characters one call into C parses (a few ms)

TOO_DEEP = f"the document is nested too deeply (at most {MAX_DEPTH} levels)"
WS = re.compile(r"[ \t\n\r]*")
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
SURROGATE_ESCAPE_TEXT = re.compile(r"\\u[dD][89a-fA-F]")
# a long string is read in windows: up to the next quote, backslash or control character
STRING_CHUNK = re.compile(r'[^"\\\x00-\x1f]*')
ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class JSONRefused(ValueError):
    """Valid JSON (or YAML) that the stack will not take; the message says why."""


def _constant(name: str) -> Any:
    raise JSONRefused(f"{name} is not allowed: a JSON number must be a finite number")


def _int(text: str) -> int:
    if len(text) - text.startswith("-") > MAX_INT_DIGITS:
        raise JSONRefused(
            f"an integer of {len(text)} digits is too large (at most {MAX_INT_DIGITS})"
        )
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_FLOAT_CHARS:
        raise JSONRefused(f"a number of {len(text)} characters is too long")
    value = float(text)
    if not math.isfinite(value):
        raise JSONRefused(f"the number {text[:40]} is out of range (not a finite number)")
    return value


_DECODER = json.JSONDecoder(parse_int=_int, parse_float=_float, parse_constant=_constant)
_SCAN = json.scanner.make_scanner(_DECODER)
_SCANSTRING = json.decoder.scanstring


def decode_text(data: bytes | str) -> str:
    """Bytes as ``json.loads`` would read them (UTF-8, -16 or -32); UnicodeDecodeError else."""
    if isinstance(data, str):
        return data
    return data.decode(json.detect_encoding(data), "strict")


def loads(data: bytes | str) -> Any:
    """Parse and check in one C call: for bodies up to ``SLICE`` (or where blocking is fine).
    Raises ``JSONRefused``, ``json.JSONDecodeError`` or ``UnicodeDecodeError``."""
    text = decode_text(data)
    try:
        value = _DECODER.decode(text)
    except RecursionError:
        raise JSONRefused(TOO_DEEP) from None
    _check_parsed(text, 0, len(text), value, 0)
    return value


def loads_sliced(data: bytes | str) -> Any:
    """``loads`` for big documents, in bounded steps (run it in a worker thread)."""
    text = decode_text(data)
    if len(text) <= SLICE:
        return loads(text)
    return _Parser(text).parse()


def _check_parsed(text: str, start: int, end: int, value: Any, depth: int) -> None:
    """Depth and surrogates of a value the C scanner parsed from ``text[start:end]``: cheap
    counts first, a walk only when they cannot rule a problem out."""
    if isinstance(value, dict | list):
        brackets = text.count("[", start, end) + text.count("{", start, end)
        if depth + brackets > MAX_DEPTH:
            try:  # the rest is the parser's (numbers) or the search's (surrogates)
                _check_depth(value, depth)
            except JSONRefused:
                check_value(value, depth=depth)  # the problem it meets first, as before
                raise
    if SURROGATE_ESCAPE_TEXT.search(text, start, end):
        check_value(value, depth=depth)


def _check_depth(value: dict[str, Any] | list[Any], depth: int) -> None:
    """check_value's depth rule for a parsed container, looking at containers only (a
    1,000-row batch has thousands of brackets, each row three levels deep)."""
    stack = [(value, depth)]
    while stack:
        item, level = stack.pop()
        if level >= MAX_DEPTH:
            raise JSONRefused(TOO_DEEP)
        below = level + 1
        stack.extend(
            (child, below)
            for child in (item.values() if type(item) is dict else item)
            if type(child) is dict or type(child) is list  # what the parser builds
        )


def check_value(value: Any, *, depth: int = 0, convert: bool = False) -> Any:
    """Walk a parsed document: depth, size, encodable strings, bounded finite numbers, string
    keys. With ``convert`` (YAML), dates and times become ISO strings and a new document is
    returned; anything else that JSON cannot carry is refused."""

    def walk(item: Any, level: int) -> Any:
        if isinstance(item, str):
            _encodable(item)
            return item
        if isinstance(item, bool) or item is None:
            return item
        if isinstance(item, int):
            if abs(item) >= 10**MAX_INT_DIGITS:
                raise JSONRefused(f"an integer is too large (at most {MAX_INT_DIGITS} digits)")
            return item
        if isinstance(item, float):
            if not math.isfinite(item):
                raise JSONRefused(
                    "NaN and infinity are not allowed: a number must be a finite number"
                )
            return item
        if isinstance(item, dict | list):
            if level >= MAX_DEPTH:
                raise JSONRefused(TOO_DEEP)
            if isinstance(item, list):
                items = [walk(x, level + 1) for x in item]
                return items if convert else item
            out = {}
            for key, x in item.items():
                if not isinstance(key, str):
                    raise JSONRefused(f"object keys must be strings, not {type(key).__name__}")
                _encodable(key)
                out[key] = walk(x, level + 1)
            return out if convert else item
        if convert and isinstance(item, date | datetime | time):
            return item.isoformat()
        raise JSONRefused(f"a {type(item).__name__} value cannot be stored as JSON")

    try:
        return walk(value, depth)
    except RecursionError:
        raise JSONRefused(TOO_DEEP) from None


def _encodable(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise JSONRefused(
            "a string holds a lone UTF-16 surrogate (e.g. \\ud800), which has no UTF-8 form"
        ) from None


class _Parser:
    """Containers in Python, scalars and small remainders in C: no C call sees more than
    ``SLICE`` characters, except a plain number or literal (scanned without backtracking)."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.n = len(text)
        self.hint = 64

    def ws(self, i: int) -> int:
        return WS.match(self.s, i).end()  # type: ignore[union-attr]

    def fail(self, message: str, i: int) -> json.JSONDecodeError:
        return json.JSONDecodeError(message, self.s, min(i, self.n))

    def parse(self) -> Any:
        s, n = self.s, self.n
        stack: list[tuple[list[Any] | dict[str, Any], str | None]] = []
        i = self.ws(0)
        while True:
            if i >= n:
                raise self.fail("Expecting value", i)
            c = s[i]
            if c in "[{" and n - i > SLICE and (small := self.window(i, len(stack))):
                value, i = small
            elif c in "[{" and n - i > SLICE:
                if len(stack) >= MAX_DEPTH:
                    raise JSONRefused(TOO_DEEP)
                j = self.ws(i + 1)
                if c == "[":
                    if s.startswith("]", j):
                        value, i = [], j + 1
                    else:
                        stack.append(([], None))
                        i = j
                        continue
                else:
                    if s.startswith("}", j):
                        value, i = {}, j + 1
                    else:
                        key, i = self.key(j)
                        stack.append(({}, key))
                        continue
            else:
                value, i = self.value(i, len(stack))
            # attach the value; close every container that ends here
            while True:
                if not stack:
                    i = self.ws(i)
                    if i != n:
                        raise self.fail("Extra data", i)
                    return value
                container, key = stack[-1]
                if key is None:
                    container.append(value)  # type: ignore[union-attr]
                else:
                    container[key] = value  # type: ignore[index]
                i = self.ws(i)
                c = s[i] if i < n else ""
                if c == ",":
                    i = self.ws(i + 1)
                    if key is not None:
                        key, i = self.key(i)
                        stack[-1] = (container, key)
                    break
                if c == ("]" if key is None else "}"):
                    stack.pop()
                    value, i = container, i + 1
                    continue
                raise self.fail("Expecting ',' delimiter", i)

    def window(self, i: int, depth: int) -> tuple[Any, int] | None:
        """A container that ends within a small window, parsed by C from a copy of that window;
        None when it is longer than ``SLICE`` (then it is walked in Python). The window starts
        at twice the size of the last one found, so runs of similar rows cost one try each."""
        size = self.hint
        while size <= SLICE:
            chunk = self.s[i : i + size]
            try:
                value, end = _SCAN(chunk, 0)
            except (json.JSONDecodeError, StopIteration):
                size *= 4  # cut short (or invalid: the walk will say where)
                continue
            except RecursionError:
                raise JSONRefused(TOO_DEEP) from None
            _check_parsed(chunk, 0, end, value, depth)
            self.hint = max(64, 2 * end)
            return value, i + end
        return None

    def key(self, i: int) -> tuple[str, int]:
        """An object key and the index after its ``:`` and whitespace."""
        if not self.s.startswith('"', i):
            raise self.fail("Expecting property name enclosed in double quotes", i)
        key, i = self.string(i)
        i = self.ws(i)
        if not self.s.startswith(":", i):
            raise self.fail("Expecting ':' delimiter", i)
        return key, self.ws(i + 1)

    def value(self, i: int, depth: int) -> tuple[Any, int]:
        """A scalar, or a container in what is left (at most ``SLICE`` characters)."""
        if self.s[i] == '"':
            return self.string(i)
        try:
            value, end = _SCAN(self.s, i)
        except StopIteration as exc:
            raise self.fail("Expecting value", exc.value) from None
        except RecursionError:
            raise JSONRefused(TOO_DEEP) from None
        _check_parsed(self.s, i, end, value, depth)
        return value, end

    def string(self, i: int) -> tuple[str, int]:
        """The string starting at the quote ``s[i]``: in C when short, else in windows."""
        s = self.s
        end = s.find('"', i + 1, i + 2 + SLICE)
        if end != -1 and "\\" not in s[i + 1 : end]:
            text, stop = _SCANSTRING(s, i + 1, True)
            _encodable(text)
            return text, stop
        if self.n - i <= SLICE or self._short(i):
            text, stop = _SCANSTRING(s, i + 1, True)
            _encodable(text)
            return text, stop
        return self._long_string(i + 1)

    def _short(self, i: int) -> bool:
        """Does the string at ``i`` end within ``SLICE`` characters (escapes considered)?"""
        j = i + 1
        limit = i + 2 + SLICE
        while True:
            q = self.s.find('"', j, limit)
            if q == -1:
                return False
            k = q - 1
            while self.s[k] == "\\":
                k -= 1
            if (q - 1 - k) % 2 == 0:
                return True
            j = q + 1

    def _long_string(self, i: int) -> tuple[str, int]:
        s, n = self.s, self.n
        parts: list[str] = []
        while True:
            window = min(n, i + SLICE)
            stop = STRING_CHUNK.match(s, i, window).end()  # type: ignore[union-attr]
            parts.append(s[i:stop])
            i = stop
            if i >= n:
                raise self.fail("Unterminated string starting at", i)
            if stop == window and window < n:
                continue
            c = s[i]
            if c == '"':
                text = "".join(parts)
                _encodable(text)
                return text, i + 1
            if c != "\\":
                raise self.fail("Invalid control character at", i)
            esc = s[i + 1 : i + 2]
            if esc in ESCAPES:
                parts.append(ESCAPES[esc])
                i += 2
            elif esc == "u":
                code = self._hex(i)
                i += 6
                if 0xD800 <= code <= 0xDBFF and s.startswith("\\u", i):
                    low = self._hex(i)
                    if 0xDC00 <= low <= 0xDFFF:
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                parts.append(chr(code))
            else:
                raise self.fail("Invalid \\escape", i)

    def _hex(self, i: int) -> int:
        digits = self.s[i + 2 : i + 6]
        if len(digits) != 4 or not all(c in "0123456789abcdefABCDEF" for c in digits):
            raise self.fail("Invalid \\uXXXX escape", i)
        return int(digits, 16)
