"""Text as the trainers' tools compare it: one `normalise()` for the check, the review and the evaluation.

The model's own normaliser (bot/components/normaliser.py) also uses OpenCC, but importing
it imports Rasa (the server applies its patches only in `bot/serve.py`): half a minute of
start-up for a check that otherwise takes seconds. The comparison here is deliberately
coarser than the model's (punctuation, spaces and case removed as well).
"""

from __future__ import annotations

import re
import unicodedata
from typing import List, Set, Tuple

from servicekit import to_simplified

# "[TR20260001](booking_ref)" / "[十天]{"entity": ...}" -> "TR20260001" / "十天"
ANNOTATION = re.compile(r"\[([^\]]*)\](?:\(([^)]*)\)|\{([^}]*)\})")
_PUNCT_CATEGORIES = ("P", "S", "Z", "C")


def normalise(text: str) -> str:
    """Simplified, half-width, lower case, no punctuation, spaces or emoji."""
    text = unicodedata.normalize("NFKC", to_simplified(text)).lower()
    return "".join(ch for ch in text if not unicodedata.category(ch).startswith(_PUNCT_CATEGORIES))


def strip_annotations(raw: str) -> Tuple[str, List[str]]:
    """The example's text without entity annotations, and the entity names it annotates."""
    entities: List[str] = []

    def entity_name(match: re.Match) -> str:
        if match.group(2) is not None:
            entities.append(match.group(2).split(":")[0].split("=")[0].strip())
        elif match.group(3) is not None:
            found = re.search(r'"entity"\s*:\s*"([^"]+)"', "{" + match.group(3) + "}")
            if found:
                entities.append(found.group(1))
        return match.group(1)

    return ANNOTATION.sub(entity_name, raw).strip(), entities


def bigrams(text: str) -> Set[str]:
    if len(text) < 2:
        return {text} if text else set()
    return {text[i : i + 2] for i in range(len(text) - 1)}
