"""Pure text helpers for the WeChat channel: limits, numbered buttons, masking.

No I/O here, so everything is tested without a server.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence, Text

import servicekit

# WeChat rejects a text message (passive reply or customer-service message)
# whose content is longer than 2048 bytes in UTF-8.
MAX_TEXT_BYTES = 2048

WELCOME_TEXT = (
    "您好，欢迎关注！我是旅行客服助手，可以帮您：\n"
    "1. 查询行程、集合时间地点、航班酒店和导游联系方式\n"
    "2. 解答退改、行李、航班延误、签证、保险、发票等问题\n"
    "3. 受理投诉，并查询投诉处理进度\n"
    "4. 需要时为您转接人工客服\n"
    "请直接发送文字告诉我您的问题。"
)
UNSUPPORTED_TEXT = "抱歉，目前仅支持文字消息，请用文字描述您的问题，我们会尽快为您处理。"
VOICE_NOT_RECOGNISED_TEXT = "抱歉，没能听清您的语音，请用文字再说一次好吗？"
FAILURE_TEXT = "抱歉，系统暂时繁忙，请稍后再发一次消息。"
IMAGE_TEXT = "[图片]"
BUTTONS_HEADER = "回复数字选择："


def utf8_len(text: Text) -> int:
    return len(text.encode("utf-8"))


def split_text(text: Text, limit: int = MAX_TEXT_BYTES) -> List[Text]:
    """Splits `text` into pieces of at most `limit` UTF-8 bytes, on line boundaries.

    A single line longer than the limit is cut between characters (never inside
    a multi-byte character). Empty pieces are dropped.
    """
    text = text.strip("\n")
    if not text:
        return []
    pieces: List[Text] = []
    current: List[Text] = []
    size = 0
    for line in text.split("\n"):
        for part in _cut_long_line(line, limit):
            extra = utf8_len(part) + (1 if current else 0)
            if current and size + extra > limit:
                pieces.append("\n".join(current))
                current, size = [], 0
                extra = utf8_len(part)
            current.append(part)
            size += extra
    if current:
        pieces.append("\n".join(current))
    return [p for p in (piece.strip("\n") for piece in pieces) if p.strip()]


def _cut_long_line(line: Text, limit: int) -> List[Text]:
    if utf8_len(line) <= limit:
        return [line]
    parts, current, size = [], [], 0
    for char in line:
        width = utf8_len(char)
        if size + width > limit:
            parts.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    if current:
        parts.append("".join(current))
    return parts


def render_buttons(text: Optional[Text], buttons: Sequence[Dict[Text, Any]]) -> Text:
    """'text' + numbered options, since WeChat text messages have no buttons."""
    lines = [text.rstrip()] if text and text.strip() else []
    if buttons:
        lines.append(BUTTONS_HEADER)
        lines.extend(f"{i}. {b.get('title') or b.get('payload', '')}" for i, b in enumerate(buttons, 1))
    return "\n".join(lines)


_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
# "1", "1.", "１", "选1", "第1个", "一" ... but not "13812345678" or "TR20260001".
_CHOICE = re.compile(
    r"^(?:选|选择|第)?\s*([0-9]{1,2}|[一二两三四五六七八九十])\s*(?:个|项|号)?\s*[.。、)）!！]?$"
)


def parse_choice(text: Text) -> Optional[int]:
    """The option number a traveller typed, or None when the text is not a bare choice."""
    match = _CHOICE.match(text.strip().translate(_FULLWIDTH_DIGITS))
    if not match:
        return None
    value = match.group(1)
    return servicekit.chinese_number(value)


class ButtonMemory:
    """The last buttons shown to each user, so that a bare number maps to a payload.

    Kept in this process's memory (bounded and time-limited): with several Rasa
    replicas a traveller's number must reach the replica that showed the buttons,
    otherwise it is simply passed to the bot as text.
    """

    def __init__(self, max_users: int = 10000, ttl: float = 3600.0) -> None:
        self._items: "OrderedDict[Text, tuple[float, List[Dict[Text, Any]]]]" = OrderedDict()
        self.max_users = max_users
        self.ttl = ttl

    def remember(self, user: Text, buttons: Sequence[Dict[Text, Any]]) -> None:
        self._items.pop(user, None)
        self._items[user] = (time.monotonic(), list(buttons))
        while len(self._items) > self.max_users:
            self._items.popitem(last=False)

    def forget(self, user: Text) -> None:
        self._items.pop(user, None)

    def resolve(self, user: Text, text: Text) -> Optional[Text]:
        """The payload (or title) of the button the number in `text` points at."""
        entry = self._items.get(user)
        if not entry or time.monotonic() - entry[0] > self.ttl:
            return None
        choice = parse_choice(text)
        buttons = entry[1]
        if choice is None or not 1 <= choice <= len(buttons):
            return None
        button = buttons[choice - 1]
        return button.get("payload") or button.get("title")


def mask(value: Optional[Text]) -> Text:
    """A stable, non-reversible tag for an OpenID in logs (no personal data in logs)."""
    if not value:
        return "-"
    return "u:" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:10]


def describe_text(text: Optional[Text]) -> Text:
    """Only the length of a message text goes to the logs, never its content."""
    return f"<{len(text or '')} chars>"
