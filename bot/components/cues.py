"""Intents with consequences stand only when the message says so in words.

`request_cancellation` starts cancelling a trip: verification, the deduction and a
cancellation request for an agent. DIET learns it from examples and, like any
classifier, is sometimes confidently wrong on text it has never seen ("对了，昆明
这几天冷不冷啊" once came out as a cancellation after an editing slip in the data).
A traveller who wants to cancel says so: 取消, 退, 不去了, 去不成, cancel... This
component keeps such an intent only when one of its cue words is in the message (or
in the clause being read); otherwise the intent moves to the end of the ranking and
the next one leads, so the FallbackClassifier behind it asks when that one is weak.

The cues are the component's configuration (`config.yml`), one regular expression per
intent. Every training example of a guarded intent must match its cue; training logs
the ones that do not, and a test checks the project's data.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Pattern, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

log = logging.getLogger(__name__)


def compile_cues(raw: Dict[str, str]) -> Dict[str, Pattern[str]]:
    return {intent: re.compile(pattern, re.I) for intent, pattern in (raw or {}).items()}


def missing_cues(training_data: TrainingData, cues: Dict[str, Pattern[str]]) -> List[str]:
    """Training examples of a guarded intent that do not contain its cue."""
    return [
        f"{example.get(INTENT)}: {example.get(TEXT)}"
        for example in training_data.intent_examples
        if example.get(INTENT) in cues and not cues[example.get(INTENT)].search(example.get(TEXT) or "")
    ]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class IntentCueGuard(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"cues": {}}

    def __init__(self, config: Dict[Text, Any], resource: Resource) -> None:
        self._resource = resource
        self._cues = compile_cues(config.get("cues") or {})

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "IntentCueGuard":
        return cls(config, resource)

    def train(self, training_data: TrainingData) -> Resource:
        for line in missing_cues(training_data, self._cues):
            # The model learns it, but the guard will overrule it: say so where trainers look.
            log.warning("Training example without its intent's cue word (the guard drops it): %s", line)
        return self._resource

    def demoted(self, message: Message) -> bool:
        intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        cue = self._cues.get(intent)
        return cue is not None and not cue.search(message.get(TEXT) or "")

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if not self.demoted(message):
                continue
            intent = message.get(INTENT)[INTENT_NAME_KEY]
            ranking = message.get(INTENT_RANKING_KEY) or []
            rest = [r for r in ranking if r.get(INTENT_NAME_KEY) != intent]
            dropped = [r for r in ranking if r.get(INTENT_NAME_KEY) == intent]
            if not rest:
                continue
            message.set(INTENT, dict(rest[0]), add_to_output=True)
            message.set(INTENT_RANKING_KEY, rest + dropped, add_to_output=True)
        return messages
