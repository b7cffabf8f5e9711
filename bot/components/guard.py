"""Sends input the model cannot know anything about to the fallback.

DIET is confidently wrong on text made only of words it never saw
("asdfghjkl qwerty" came out as `thank` at 0.85) and on emoji or empty
messages. If no token of the message occurs in the training data and no
entity was found, the message is treated as not understood (`nlu_fallback`),
so the traveller gets a polite "please rephrase" instead of a wrong answer.

Interjections and sentence particles (啊, 嗯, 哦, 吧…) occur in hundreds of
training examples, so "啊啊啊啊 zxcvb" counted as known and DIET read it as
`cancel`. They do not count as known words when the message has other tokens;
a message of fillers alone ("嗯嗯", "哦") is left to the model, where it is
often a real answer (嗯 = yes).
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Set, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

FALLBACK_INTENT = "nlu_fallback"
_FILE = "vocabulary.json"
# Interjections and sentence-final particles: they say nothing about the topic.
FILLERS = frozenset("啊呀哇嗯哦噢喔呃哈嘿哎唉诶欸吧呢嘛吗啦咯哟")


def is_filler(word: str) -> bool:
    return all(ch in FILLERS for ch in word)


def _words(message: Message) -> List[str]:
    return [t.text.lower() for t in message.get(TOKENS_NAMES[TEXT]) or [] if t.text.strip()]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class UnknownInputGuard(GraphComponent):
    def __init__(
        self, model_storage: ModelStorage, resource: Resource, vocabulary: Optional[Set[str]] = None
    ):
        self._model_storage = model_storage
        self._resource = resource
        self._vocabulary = vocabulary or set()

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "UnknownInputGuard":
        return cls(model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        vocabulary: Set[str] = set()
        for example in training_data.intent_examples:
            vocabulary.update(_words(example))
        with self._model_storage.write_to(self._resource) as directory:
            (directory / _FILE).write_text(json.dumps(sorted(vocabulary), ensure_ascii=False))
        self._vocabulary = vocabulary
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "UnknownInputGuard":
        try:
            with model_storage.read_from(resource) as directory:
                vocabulary = set(json.loads((directory / _FILE).read_text()))
        except (ValueError, FileNotFoundError):
            vocabulary = set()
        return cls(model_storage, resource, vocabulary)

    def is_unknown(self, message: Message) -> bool:
        if message.get(ENTITIES):
            return False
        words = _words(message)
        content = [word for word in words if not is_filler(word)]
        if content:
            words = content
        return not any(word in self._vocabulary for word in words)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if not self._vocabulary or not self.is_unknown(message):
                continue
            ranking = message.get(INTENT_RANKING_KEY) or []
            message.set(INTENT, {"name": FALLBACK_INTENT, "confidence": 1.0}, add_to_output=True)
            message.set(
                INTENT_RANKING_KEY,
                [{"name": FALLBACK_INTENT, "confidence": 1.0}]
                + [r for r in ranking if r.get("name") != FALLBACK_INTENT],
                add_to_output=True,
            )
        return messages
