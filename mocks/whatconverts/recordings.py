"""Call recordings: ``GET /api/v1/recording?lead_id=`` answers the call's MP3 bytes
([C] whatconverts.md §1, §5), and a phone-call lead's ``recording`` / ``play_recording`` (and
``voicemail`` / ``play_voicemail``) URLs (§6.2) point at the fake's own host.

The audio is synthetic: a short MPEG-1 Layer III stream of silence generated here, byte for byte
the same for a lead on every run, behind an ID3v2 tag that says what it is. No voice, no file.

The fake's choices ([?] whatconverts.md §5, §6.2; also in the spec's ``x-sandbox-choices``):

- the recording of a call that went to voicemail is its voicemail;
- a lead without one (not a phone call, or a call created through the API, which has no
  audio) → 404 ``{"error_message": "No recording found for this lead."}``; a missing, malformed,
  unknown or foreign lead id → 400 ``Invalid lead ID.`` as for ``/leads/{id}`` ([O] §4);
- the URLs keep the vendor's form (``…/recording/r-<8 hex>-<uuid>/download`` and ``/play``, as a
  captured Pipedream test event shows) on whichever host the request reached (``careflow up``'s
  port, or app.whatconverts.com under interception); they need no credentials, like the
  vendor's browser links ([I] the w6w client calls them "direct, browser-usable URLs"), and
  both answer the MP3.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar
from typing import Any

REAL_ORIGIN = "https://app.whatconverts.com"  # [C] §1 where the vendor's links point
URL_FIELDS = ("recording", "play_recording", "voicemail", "play_voicemail")
TOKEN = re.compile(r"^(?P<kind>[rv])-(?P<lead>[0-9a-f]{8})-[0-9a-f-]{36}$")

# MPEG-1 Layer III frame header: sync, MPEG-1, Layer III, no CRC | 32 kbit/s, 48 kHz, no padding
# | mono, no copyright, original. 1152 samples per frame; 144 * 32000 / 48000 = 96 bytes a frame.
FRAME_HEADER = bytes([0xFF, 0xFB, 0x14, 0xC4])
FRAME_BYTES = 96
FRAMES_PER_SECOND = 48000 / 1152  # ≈ 41.7
MAX_SECONDS = 3
# The origin (scheme://host[:port]) the current API request reached; set by the HTTP layer.
ORIGIN: ContextVar[str | None] = ContextVar("whatconverts_origin", default=None)


def token(kind: str, lead: dict[str, Any]) -> str:
    """``r-…`` (call) or ``v-…`` (voicemail): the lead id in 8 hex digits, then a UUID, the form
    of the vendor's ``r-fbe05094-61e20aad-…`` ids; deterministic for the lead."""
    ident = uuid.uuid5(
        uuid.NAMESPACE_URL, f"whatconverts/{kind}/{lead['profile_id']}/{lead['lead_id']}"
    )
    return f"{kind}-{lead['lead_id'] & 0xFFFFFFFF:08x}-{ident}"


def links(lead: dict[str, Any], *, voicemail: bool) -> dict[str, str | None]:
    """The four URL fields of a seeded call: a recording, or a voicemail when nobody answered."""
    kind = "v" if voicemail else "r"
    base = f"{REAL_ORIGIN}/recording/{token(kind, lead)}"
    urls: dict[str, str | None] = dict.fromkeys(URL_FIELDS)
    prefix = "voicemail" if voicemail else "recording"
    urls[prefix] = f"{base}/download"
    urls[f"play_{prefix}"] = f"{base}/play"
    return urls


def on_origin(lead: dict[str, Any], origin: str | None = None) -> dict[str, Any]:
    """``lead`` with its audio URLs on ``origin`` (default: the host the current request
    reached) instead of the vendor's; the stored lead keeps the vendor's form."""
    origin = origin or ORIGIN.get()
    if not origin or origin == REAL_ORIGIN:
        return lead
    out = dict(lead)
    for name in URL_FIELDS:
        value = out.get(name)
        if isinstance(value, str) and value.startswith(REAL_ORIGIN + "/"):
            out[name] = origin + value[len(REAL_ORIGIN) :]
    return out


def audio_token(lead: dict[str, Any]) -> str | None:
    """The token of the lead's audio: its call recording, else its voicemail, else None."""
    for name in ("recording", "voicemail"):
        value = lead.get(name)
        if isinstance(value, str) and "/recording/" in value:
            return value.split("/recording/", 1)[1].split("/", 1)[0]
    return None


def lead_of_token(value: str) -> int | None:
    m = TOKEN.match(value)
    return int(m.group("lead"), 16) if m else None


def synthetic_mp3(lead: dict[str, Any]) -> bytes:
    """A valid MP3 of silence, as long as the call up to :data:`MAX_SECONDS` (at least one
    second): an ID3v2.4 tag naming it synthetic, then MPEG-1 Layer III frames whose side
    information and main data are all zero (every granule decodes to silence)."""
    seconds = lead.get("call_duration_seconds") or 1
    seconds = max(1, min(MAX_SECONDS, int(seconds)))
    frames = round(seconds * FRAMES_PER_SECOND)
    frame = FRAME_HEADER + bytes(FRAME_BYTES - len(FRAME_HEADER))
    return id3_tag(f"careflow sandbox: synthetic silence for lead {lead['lead_id']}") + (
        frame * frames
    )


def id3_tag(title: str) -> bytes:
    """An ID3v2.4 tag with one TIT2 (title) frame, UTF-8."""
    text = b"\x03" + title.encode("utf-8")
    frame = b"TIT2" + _syncsafe(len(text)) + b"\x00\x00" + text
    return b"ID3\x04\x00\x00" + _syncsafe(len(frame)) + frame


def _syncsafe(n: int) -> bytes:
    return bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])
