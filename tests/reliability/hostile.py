"""Hostile input, as Hypothesis strategies: the classes of issue 15 (DESIGN.md "Bad input never
gets a 5xx"), each planted into an otherwise valid request of a route.

A route is a ``Surface``: method, path, body kind (``json``, ``yaml``, ``form``, ``query``) and a
template holding ``@X@`` where the hostile token goes. The token replaces a value (or a key) in
the template's *text*, so what is sent is exactly the hostile bytes, not what a JSON library
would make of them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

LONG = os.environ.get("CAREFLOW_RELIABILITY", "").lower() == "long"
EXAMPLES = 400 if LONG else 30  # per service


def nested(n: int, open_: str = "[", close: str = "]") -> str:
    return open_ * n + close * n


def nested_objects(n: int) -> str:
    return '{"a":' * n + "1" + "}" * n


# values that parse (or almost) but no service may store or answer with
json_tokens = st.one_of(
    st.integers(65, 30_000).map(nested),
    st.integers(65, 5_000).map(nested_objects),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1E400", "[NaN]"]),
    st.integers(41, 6_000).map(lambda n: "9" * n),
    st.integers(41, 6_000).map(lambda n: "-" + "7" * n),
    st.integers(1, 500).map(lambda n: "1." + "0" * n + "e999"),
    st.sampled_from(['"\\ud800"', '"\\udfff"', '"a\\ud83d"', '"\\udc00b"', '["\\ud800"]']),
    st.sampled_from(['{"\\ud800": 1}', '{"k\\udfff": "v"}']),
    st.text(max_size=30).map(lambda t: '"' + t.replace("\\", "").replace('"', "") + '\\ud801"'),
)
# bytes that are not JSON at all (or not UTF-8), dropped in place of the value
json_garbage = st.one_of(
    st.sampled_from([b'"\xff\xfe"', b"\xed\xa0\x80", b'"\xc3"', b"{", b"[1,", b"\x00", b"'x'"]),
    st.binary(min_size=1, max_size=40),
)
# form values: broken percent-escapes, raw bytes that are not UTF-8, huge integers
form_tokens = st.one_of(
    st.sampled_from([b"%FF", b"%ED%A0%80", b"%C3", b"\xff\xfe", b"%", b"%G1", b"\xed\xa0\x80"]),
    st.integers(41, 6_000).map(lambda n: b"9" * n),
    st.binary(min_size=1, max_size=40),
)
# query values: 5,000-digit integers, broken escapes, long texts
query_tokens = st.one_of(
    st.integers(41, 6_000).map(lambda n: "9" * n),
    st.integers(41, 6_000).map(lambda n: "-" + "9" * n),
    st.sampled_from(["%FF", "%ED%A0%80", "NaN", "Infinity", "1e999", "%00", "-0", "0x10"]),
    st.text(max_size=50).map(lambda t: t.replace("&", "").replace("#", "")),
)
# YAML documents: NaN, big integers, binary, aliases that expand, deep nesting, surrogates
yaml_tokens = st.one_of(
    st.sampled_from([".nan", ".inf", "-.inf", "!!binary aGVsbG8=", "!!set {a, b}", "2026-01-01"]),
    st.integers(41, 5_000).map(lambda n: "9" * n),
    st.sampled_from(['"\\ud800"', '"a\\udfff"']),
    st.integers(65, 3_000).map(nested),
)
BILLION_LAUGHS = (
    "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)
    )
    + "name: *i\n"
)


@dataclass(frozen=True)
class Surface:
    """One route that takes input; ``template`` holds ``@X@`` where the hostile token goes."""

    method: str
    path: str
    kind: str  # json | yaml | form | query
    template: str
    headers: tuple[tuple[str, str], ...] = ()

    def request(self, token: bytes | str) -> dict[str, Any]:
        raw = token if isinstance(token, bytes) else token.encode("utf-8", "surrogatepass")
        headers = dict(self.headers)
        if self.kind == "query":  # as a client sends it: percent-escapes kept, the rest quoted
            value = quote(
                raw.decode("utf-8", "surrogateescape"), safe="%", errors="surrogateescape"
            )
            return {
                "url": self.path + "?" + self.template.replace("@X@", value),
                "headers": headers,
            }
        body = self.template.encode().replace(b"@X@", raw)
        if self.kind == "yaml" and b"\n" in raw:  # a whole document (aliases)
            body = raw
        headers["content-type"] = {
            "json": "application/json",
            "yaml": "application/yaml",
            "form": "application/x-www-form-urlencoded",
        }[self.kind]
        return {"url": self.path, "content": body, "headers": headers}


def token_for(kind: str) -> st.SearchStrategy[bytes | str]:
    if kind == "json":
        return st.one_of(json_tokens, json_garbage)
    if kind == "yaml":
        return st.one_of(yaml_tokens, json_tokens, st.just(BILLION_LAUGHS))
    if kind == "form":
        return form_tokens
    return query_tokens


def hostile(surfaces: list[Surface]) -> st.SearchStrategy[tuple[Surface, bytes | str]]:
    return st.sampled_from(surfaces).flatmap(lambda s: st.tuples(st.just(s), token_for(s.kind)))
