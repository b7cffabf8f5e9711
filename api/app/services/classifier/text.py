"""Text normalisation shared by training and prediction, so both see the same tokens."""

from __future__ import annotations

import re
import unicodedata

from app.core.servicekit import to_simplified

# Long pasted texts add nothing to the category after the first paragraphs but cost time.
MAX_CHARS = 1000

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff"
# A space between two CJK characters changes jieba's cut ("我 要 退 款"); spaces between Latin words stay.
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")
_SPACES = re.compile(r"\s+")
_MEANINGFUL = re.compile(rf"[{_CJK}A-Za-z0-9]")


def normalise(text: str | None) -> str:
    """Full-width -> half-width (NFKC), traditional -> simplified, tidy spaces, cap the length."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", str(text)[: MAX_CHARS * 2])
    text = to_simplified(text)
    text = _SPACE_BETWEEN_CJK.sub("", text)
    text = _SPACES.sub(" ", text).strip()
    return text[:MAX_CHARS]


def has_content(text: str) -> bool:
    """False for empty, punctuation-only or emoji-only text: nothing a model can classify."""
    return bool(_MEANINGFUL.search(text))
