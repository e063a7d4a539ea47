"""Custom payload templates of outgoing-webhook events ([C] caspio.md §8.1
``CustomPayloadTemplate``, §8.2 placeholders): parsed and checked when an event is saved,
rendered into the JSON body of each message.

The grammar, from Caspio's own n8n trigger (source [S2] of caspio.md, ``CaspioTrigger.node.ts``
``buildCustomPayloadTemplate``), which registers a template and reads the delivered JSON by its
keys::

    {'secret': '[@out-hook:secret]', 'webhookId': '[@out-hook:webhookId]', …,
     'data': [{'PK_ID': '[@field:PK_ID]', 'Name': '[@field:Name]'}]}

- ``[@out-hook:NAME]`` is a message property: ``secret``, ``webhookId``, ``messageId``,
  ``eventId``, ``callId``, ``accountId``, ``eventDate``, ``eventType``, ``objectName``;
- ``[@field:Field]`` is a value of the changed record; ``[@field:Field/]`` is an attachment's
  temporary download URL;
- the template is JSON written with single quotes where JSON has double quotes ([C] §8.1); the
  delivered body is that JSON with double quotes.

The fake's choices ([?] caspio.md §8.1-8.2, also in the spec's ``x-sandbox-choices``):

- a placeholder inside quotes is replaced by its value as text, escaped for JSON (null → empty,
  true/false, numbers as written); outside quotes by the value as a JSON literal (null, true,
  12.5, "text");
- both quote kinds delimit strings (a ``"`` inside a ``'…'`` string is a literal quote);
- when an event is saved, an unknown placeholder (``[@out-hook:foo]``, ``[@other:x]``), a field
  the table does not have, a password field (never in a payload, §8.2) or a template that does
  not render to JSON is refused with 400 IncorrectBodyParameter naming the problem;
- a field deleted after the event was saved renders as null; ``[@field:X/]`` renders as null (the
  sandbox has no attachments);
- ``callId`` is a GUID of its own for each POST to each URL (``messageId`` is per message).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

OUT_HOOK = (
    "secret",
    "webhookId",
    "messageId",
    "eventId",
    "callId",
    "accountId",
    "eventDate",
    "eventType",
    "objectName",
)
# [@kind:name] or [@kind:name/]; the name stops at the first ']'.
PLACEHOLDER = re.compile(r"\[@(?P<kind>[A-Za-z][\w-]*):(?P<name>[^\]\[]*?)(?P<url>/)?\]")


class TemplateError(ValueError):
    """A template that cannot be used; the message says what to change."""


@dataclass(frozen=True)
class Slot:
    kind: str  # "out-hook" | "field"
    name: str
    url: bool  # [@field:X/]
    quoted: bool  # inside a string of the template


@dataclass(frozen=True)
class Template:
    parts: tuple[str | Slot, ...]  # literal JSON text, or a placeholder

    @property
    def fields(self) -> list[str]:
        return [p.name for p in self.parts if isinstance(p, Slot) and p.kind == "field"]


@lru_cache(maxsize=256)
def parse(text: str) -> Template:
    """Split ``text`` into literal JSON text (quotes made double) and placeholders; unknown
    placeholders are a TemplateError."""
    parts: list[str | Slot] = []
    quote: str | None = None  # the quote that opened the string we are in
    escaped = False
    pos = 0

    def literal(chunk: str) -> None:
        nonlocal quote, escaped
        out = []
        for ch in chunk:
            if escaped:
                out.append(ch)
                escaped = False
            elif quote and ch == "\\":
                out.append(ch)
                escaped = True
            elif ch in "'\"" and (quote is None or ch == quote):
                quote = None if quote else ch
                out.append('"')
            elif ch == '"':  # a double quote inside a '…' string is a literal quote
                out.append('\\"')
            else:
                out.append(ch)
        parts.append("".join(out))

    for m in PLACEHOLDER.finditer(text):
        literal(text[pos : m.start()])
        kind, name = m.group("kind"), m.group("name")
        if kind == "out-hook":
            if name not in OUT_HOOK:
                raise TemplateError(
                    f"CustomPayloadTemplate: unknown placeholder '{m.group(0)}'; "
                    f"[@out-hook:…] takes one of {', '.join(OUT_HOOK)}."
                )
        elif kind != "field" or not name.strip():
            raise TemplateError(
                f"CustomPayloadTemplate: unknown placeholder '{m.group(0)}'; "
                "use [@out-hook:name] or [@field:FieldName]."
            )
        parts.append(Slot(kind, name.strip(), bool(m.group("url")), quote is not None))
        pos = m.end()
    literal(text[pos:])
    return Template(tuple(parts))


def check(text: str, fields: dict[str, str], passwords: set[str]) -> Template:
    """A template an event may be saved with: its fields exist (``fields``: lower-case name →
    type; PK_ID always does), none is a password, and it renders to JSON."""
    template = parse(text)
    for name in template.fields:
        kind = "INTEGER" if name.upper() == "PK_ID" else fields.get(name.lower())
        if kind is None:
            raise TemplateError(
                f"CustomPayloadTemplate: [@field:{name}] names a field the table does not have."
            )
        if name.lower() in passwords:
            raise TemplateError(
                f"CustomPayloadTemplate: [@field:{name}] is a password field; password fields "
                "are never sent in a webhook payload."
            )
    sample = {name: "sample" for name in template.fields}
    try:
        render(template, dict.fromkeys(OUT_HOOK, "sample"), sample)
    except ValueError as exc:
        raise TemplateError(
            "CustomPayloadTemplate does not make JSON once its quotes are made double "
            f"({exc}); write it as JSON with single quotes, e.g. "
            "{'eventType': '[@out-hook:eventType]', 'data': [{'Name': '[@field:Name]'}]}."
        ) from None
    return template


def render(template: Template, meta: dict[str, Any], row: dict[str, Any]) -> Any:
    """The message body: ``meta`` holds the [@out-hook:…] values, ``row`` the record's
    values (any case of a field's name). ValueError when the text is not JSON."""
    lower = {k.lower(): v for k, v in row.items()}
    out = []
    for part in template.parts:
        if isinstance(part, str):
            out.append(part)
            continue
        if part.kind == "out-hook":
            value = meta.get(part.name)
        else:
            value = None if part.url else lower.get(part.name.lower())
        out.append(json.dumps(as_text(value))[1:-1] if part.quoted else json.dumps(value))
    return json.loads("".join(out))


def as_text(value: Any) -> str:
    """A value written inside a template's quotes."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value)) if abs(value) < 1e16 else repr(value)
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value)
