"""Normalises Chinese input before jieba sees it.

Travellers mix traditional and simplified characters, full-width and half-width
forms, and stray spaces ("我 要 退 款" cuts differently from "我要退款"). Every
message, at training and at prediction time, goes through the same steps so the
model sees one spelling. Entity offsets of training examples are remapped, since
removing spaces shifts them.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, ENTITY_ATTRIBUTE_END, ENTITY_ATTRIBUTE_START, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from servicekit import to_simplified

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef"
_CJK_CHAR = re.compile(f"[{_CJK}]")
# The NLU model only reads this much of a message (DIET's cost grows with its
# length). The text is cut *before* any conversion: OpenCC costs about 4 s per MB,
# and a huge message converted first blocked every conversation of the process.
# Removing spaces only shortens a text, so a raw prefix of twice the limit always
# yields the limit's worth of normalised text (or all of it). Messages above
# RASA_MAX_MESSAGE_CHARS never get here (bot/serve.py answers them itself).
MAX_NLU_CHARS = 500
# Message key: offsets in the normalised text where the traveller had typed a space.
SPACE_BREAKS = "space_breaks"


# Written Cantonese (Hong Kong and Guangdong travellers: "東京嗰間酒店叫咩名"): characters
# that only Cantonese uses, each to the Mandarin word of the same length, so offsets stay
# one-to-one (咩/乜 -> 啥, not 什么; OpenCC writes 嗰 as 𠮶). 係 is left alone: OpenCC has
# made it 系 by then, a Mandarin word too.
_CANTONESE = str.maketrans(
    {
        "嗰": "那", "𠮶": "那", "咩": "啥", "乜": "啥", "嘅": "的", "唔": "不", "冇": "没", "喺": "在",
        "佢": "他", "哋": "们", "咗": "了", "嚟": "来", "啲": "些", "睇": "看", "揾": "找", "搵": "找",
        "畀": "给", "俾": "给", "攞": "拿",
    }
)  # fmt: skip


# Cantonese words of two characters whose characters alone are Mandarin too (边 = side):
# replaced as words, each by a Mandarin word of the same length ("第二日住边间酒店").
# Also words whose single-character reading would mislead: 唔该 is "thank you", not "不该";
# 系唔系 (OpenCC's 系 for 係) is "是不是"; 同人讲 is "talk to a person", not fan fiction.
_CANTONESE_WORD = {
    "边度": "哪里", "边个": "哪个", "边间": "哪间", "边位": "哪位",
    "几多": "多少", "点样": "怎样", "乜嘢": "什么", "咩嘢": "什么",
    "唔该": "谢谢", "唔明": "不懂", "系唔系": "是不是", "系咪": "是不", "同人讲": "跟人讲",
    "点解": "为何", "得闲": "有空",
}  # fmt: skip
_CANTONESE_WORDS = re.compile("|".join(sorted(_CANTONESE_WORD, key=len, reverse=True)))


def _to_simplified(text: str) -> str:
    converted = to_simplified(text)
    if len(converted) != len(text):
        # A phrase rule changed the length; convert character by character so
        # offsets stay one-to-one (single characters map one-to-one).
        converted = "".join(to_simplified(ch) or ch for ch in text)
    converted = _CANTONESE_WORDS.sub(lambda m: _CANTONESE_WORD[m.group(0)], converted)
    return converted.translate(_CANTONESE)


def _to_halfwidth(ch: str) -> str:
    code = ord(ch)
    if code == 0x3000:
        return " "
    if 0xFF01 <= code <= 0xFF5E:
        return chr(code - 0xFEE0)
    return ch


def normalise(text: str) -> Tuple[str, List[int]]:
    """Returns the normalised text and, for each index 0..len(text) of the input,
    the index it maps to in the output (removed characters map to the next kept one)."""
    chars = [_to_halfwidth(ch) for ch in _to_simplified(text)]
    out: List[str] = []
    index_map: List[int] = []
    n = len(chars)
    i = 0
    while i < n:
        if chars[i].isspace():
            j = i
            while j < n and chars[j].isspace():
                j += 1
            before = out[-1] if out else ""
            after = chars[j] if j < n else ""
            # Drop leading/trailing space and space touching a CJK character;
            # keep one space between Latin words ("check in").
            keep = bool(before) and bool(after) and not (_CJK_CHAR.match(before) or _CJK_CHAR.match(after))
            for _ in range(i, j):
                index_map.append(len(out))
            if keep:
                out.append(" ")
            i = j
            continue
        index_map.append(len(out))
        out.append(chars[i])
        i += 1
    index_map.append(len(out))
    return "".join(out), index_map


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class ChineseNormaliser(GraphComponent):
    """Traditional → simplified (OpenCC), full-width → half-width, spaces tidied."""

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "ChineseNormaliser":
        return cls()

    def _normalise_message(self, message: Message, limit: Optional[int] = None) -> None:
        original: Optional[str] = message.get(TEXT)
        if not original:
            return
        # Cut first: neither OpenCC nor anything after it may see more than this.
        text = original if limit is None else original[: 2 * limit]
        normalised, index_map = normalise(text)
        if limit is not None:
            normalised = normalised[:limit]
            # Where a space between two Chinese words was dropped: the clause splitter may cut
            # there ("能开专票吗 行李超重怎么收费"); only at run time, training examples are one intent.
            breaks = [
                index_map[m.start()]
                for m in re.finditer(r"\s+", text)
                if 0 < index_map[m.start()] < len(normalised)
                and " " not in normalised[index_map[m.start()] - 1 : index_map[m.start()] + 1]
            ]
            if breaks:
                message.set(SPACE_BREAKS, breaks)
        if normalised == original:
            return
        message.set(TEXT, normalised)
        entities = message.get(ENTITIES)
        for entity in entities or []:
            start, end = entity[ENTITY_ATTRIBUTE_START], entity[ENTITY_ATTRIBUTE_END]
            new_start, new_end = index_map[start], index_map[end]
            # A value equal to the annotated text follows the text; a synonym
            # value ("[酒店](itinerary_item:hotel)") is kept as written.
            if entity.get("value") == text[start:end]:
                entity["value"] = normalised[new_start:new_end]
            entity[ENTITY_ATTRIBUTE_START], entity[ENTITY_ATTRIBUTE_END] = new_start, new_end

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            self._normalise_message(example)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._normalise_message(message, limit=MAX_NLU_CHARS)
        return messages
