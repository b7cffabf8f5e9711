"""Masking of personal data for agents' views and for log lines.

Structured fields have their own maskers (`mask_name`, `mask_phone`, `mask_identifier`,
`mask_evidence`); free text (descriptions, places, notes, transcripts, summaries) goes through
`mask_text`, which masks what can be recognised in it (and is the mask of the API's log filter,
servicekit's `MaskingFilter`): mobile and landline numbers, resident ID,
passport and permit numbers, bank cards, e-mail addresses, a name after "我叫/姓名/联系人…", and the
record's own known names and numbers (the complainant's, the booking holder's) wherever they occur.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

_NOT_ALNUM_BEFORE = r"(?<![0-9A-Za-z])"
_NOT_ALNUM_AFTER = r"(?![0-9A-Za-z])"

# Mainland mobiles, also written +86 138-1234-5678 / 138 1234 5678.
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
# Resident identity card: 18 characters (the last may be X) or the old 15 digits.
_ID_CARD = re.compile(
    _NOT_ALNUM_BEFORE
    + r"(?:\d{6}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]|\d{15})"
    + _NOT_ALNUM_AFTER
)
# Passports (E/G/D/S/P + 8 digits, or E + letter + 7 digits) and HK/Macau/Taiwan permits.
_PASSPORT = re.compile(
    _NOT_ALNUM_BEFORE + r"(?:[EeGgDdSsPp][A-Za-z]?\d{7,8}|[HhMmTt]\d{8,10})" + _NOT_ALNUM_AFTER
)
# Bank cards and any other long run of digits (12+), with or without spaces/dashes in fours.
_LONG_DIGITS = re.compile(
    _NOT_ALNUM_BEFORE + r"(?:\d{4}(?:[ -]\d{4}){2,3}[ -]?\d{0,4}|\d{12,19})" + _NOT_ALNUM_AFTER
)
# Landlines with an area code: 010-12345678, 0871 6543210, (021)12345678.
_LANDLINE = re.compile(
    _NOT_ALNUM_BEFORE + r"(?:\(0\d{2,3}\)|0\d{2,3}[- ]?)(\d{3,4})(\d{4})" + _NOT_ALNUM_AFTER
)
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
# A name right after the words that introduce one.
_NAME_CUE = re.compile(
    r"(我叫|我名叫|名叫|我的名字是|名字是|名字叫|姓名\s*[是为:：]?|联系人\s*[是为:：]?|预订人\s*[是为:：]?"
    r"|订票人\s*[是为:：]?|持卡人\s*[是为:：]?|投诉人\s*[是为:：]?)\s*([\u4e00-\u9fff·]{2,4})"
)
_LATIN_NAME_CUE = re.compile(r"(?i)(my name is|name\s*[:：])\s*([A-Za-z]+(?:[ .][A-Za-z]+)?)")
_MASK_CHARS = "*"


def mask_phone(phone: str | None) -> str | None:
    """138****5678 for a mainland mobile; anything else keeps only its last 4 characters."""
    if not phone:
        return phone
    if len(phone) == 11 and phone.isdigit():
        return f"{phone[:3]}****{phone[-4:]}"
    return "*" * max(len(phone) - 4, 0) + phone[-4:]


def mask_name(name: str | None) -> str | None:
    """张* / 张*明 / J*** : enough to greet, not enough to identify."""
    if not name:
        return name
    if len(name) <= 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_identifier(value: str | None) -> str | None:
    """An identifier that may point at a person (conversation id, WeChat openid, media id):
    the first 2 and last 4 characters, enough to tell two apart on screen."""
    if not value:
        return value
    if len(value) <= 6:
        return "*" * len(value)
    return value[:2] + "****" + value[-4:]


# How a channel shows in a masked conversation id (the rest by their own name).
_CHANNEL_TAGS = {"wechat": "wx", "socketio": "web", "rest": "rest"}


def mask_conversation_id(value: str | None, channel: str | None = None) -> str | None:
    """A conversation (sender) id as staff see it, the holder and supervisors included: the
    channel, the first 4 characters of a long id and 6 hex digits of its SHA-256, e.g.
    `wx:oAbc…3fa9c1`. Stable per conversation, so agents tell conversations apart and match a
    handoff with its ticket; never the id itself (a WeChat openid is a lasting identifier of the
    person, and the relay goes by handoff id). Short ids (REST senders) show no characters."""
    if not value:
        return value
    tag = _CHANNEL_TAGS.get(channel or "", channel or "id")
    head = value[:4] if len(value) >= 16 else ""
    return f"{tag}:{head}…{hashlib.sha256(value.encode()).hexdigest()[:6]}"


def mask_evidence(item: str | None) -> str | None:
    """A photo or recording of the traveller: the host of a URL stays, the path does not."""
    if not item:
        return item
    parts = urlsplit(item)
    if parts.scheme and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}/****"
    return mask_identifier(item)


def _given_name(match: re.Match) -> str:
    name = match.group(2)
    lead = match.group(0)[: match.start(2) - match.start(0)]
    return lead + name[0] + "".join(" " if c == " " else _MASK_CHARS for c in name[1:])


def _keep_last4(match: re.Match) -> str:
    text = match.group(0)
    digits = [c for c in text if c.isalnum()]
    return "*" * (len(digits) - 4) + "".join(digits[-4:])


def _passport(match: re.Match) -> str:
    text = match.group(0)
    return text[0] + "*" * (len(text) - 3) + text[-2:]


def _landline(match: re.Match) -> str:
    text = match.group(0)
    return text[: len(text) - len(match.group(1)) - len(match.group(2))] + "****" + match.group(2)


def _known_patterns(known: Iterable[str | None]) -> list[tuple[re.Pattern, str]]:
    out = []
    # Longest first, so "欧阳娜娜" is masked before a shorter known string inside it.
    for value in sorted({k.strip() for k in known if k and k.strip()}, key=len, reverse=True):
        digits = re.sub(r"\D", "", value)
        if len(digits) >= 7 and len(digits) >= len(value) - 3:
            # A number: match it whatever separators the traveller typed.
            pattern = re.compile(r"(?<!\d)" + r"[- ]?".join(map(re.escape, digits)) + r"(?!\d)")
            out.append((pattern, mask_phone(digits) or ""))
        elif len(value) >= 2 and (not value.isascii() or len(value) >= 3):
            flags = re.IGNORECASE if value.isascii() else 0
            out.append((re.compile(re.escape(value), flags), mask_name(value) or ""))
    return out


def mask_text(text: str | None, known: Iterable[str | None] = ()) -> str | None:
    """Free text with the personal data in it masked. `known`: the record's own names and
    numbers (complainant, booking holder), masked wherever they occur."""
    if not text:
        return text
    for pattern, replacement in _known_patterns(known):
        text = pattern.sub(replacement, text)
    text = _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
    text = _ID_CARD.sub(_keep_last4, text)
    text = _MOBILE.sub(r"\1****\3", text)
    text = _PASSPORT.sub(_passport, text)
    text = _LONG_DIGITS.sub(_keep_last4, text)
    text = _LANDLINE.sub(_landline, text)
    text = _NAME_CUE.sub(_given_name, text)
    text = _LATIN_NAME_CUE.sub(_given_name, text)
    return text


# Summary keys (the bot's slot names and the like) whose whole value is one personal item.
NAME_KEYS = frozenset({"name", "complainant_name", "traveller_name", "contact_name"})
PHONE_KEYS = frozenset({"phone", "phone_last4", "contact_phone", "mobile"})
IDENTIFIER_KEYS = frozenset(
    {"id_number", "id_card", "passport", "passport_no", "conversation_id", "sender_id"}
)
# Conversation ids: masked for every person, not only for those who see masked data.
CONVERSATION_KEYS = frozenset({"conversation_id", "sender_id"})
EVIDENCE_KEYS = frozenset({"complaint_evidence", "evidence"})


def known_in_summary(summary: Mapping[str, Any] | None) -> list[str]:
    """The names and numbers a summary gives, to be masked wherever else they occur."""
    return [
        str(v)
        for k, v in (summary or {}).items()
        if k in NAME_KEYS | {"phone", "contact_phone", "mobile"} and v
    ]


def mask_conversation_keys(summary: Mapping[str, Any] | None, channel: str | None = None) -> dict[str, Any]:
    """An unmasked summary for staff: only the conversation ids in it masked."""
    return {
        k: mask_conversation_id(v, channel) if k in CONVERSATION_KEYS and isinstance(v, str) else v
        for k, v in (summary or {}).items()
    }


def mask_summary(
    summary: Mapping[str, Any] | None, known: Iterable[str | None] = (), channel: str | None = None
) -> dict[str, Any]:
    """The bot's summary of a conversation, every string in it masked (key-aware)."""
    known = [*known, *known_in_summary(summary)]
    out: dict[str, Any] = {}
    for key, value in (summary or {}).items():
        out[key] = _mask_summary_value(key, value, known, channel)
    return out


def _mask_summary_value(key: str, value: Any, known: list[str], channel: str | None) -> Any:
    if isinstance(value, (list, tuple)):
        return [_mask_summary_value(key, v, known, channel) for v in value]
    if not isinstance(value, str):
        return value
    if key in CONVERSATION_KEYS:
        return mask_conversation_id(value, channel)
    if key in NAME_KEYS:
        return mask_name(value)
    if key in PHONE_KEYS:
        return "*" * max(len(value) - 4, 0) + value[-4:]
    if key in IDENTIFIER_KEYS:
        return mask_identifier(value)
    if key in EVIDENCE_KEYS:
        return mask_evidence(value)
    return mask_text(value, known)


def mask_log_line(text: str) -> str:
    """What the API's logs get: `mask_text` (names after cue words, e-mail...) and then
    servicekit's log mask, which also catches numbers glued to letters ("ID110105199003071234")."""
    from app.core.servicekit import mask_log_text

    return mask_log_text(mask_text(text) or "")
