"""The policy ResponseSelector, run only for messages that are policy questions.

Stock ResponseSelector embeds every message, although its answer is only used
when DIET's intent is the retrieval intent (`policy`): on a greeting, a booking
number or a complaint it cost 4.4 ms of the Rasa server's 47 ms per message
(py-spy, 20 concurrent conversations). Same training, same output for policy
questions; other messages simply carry no response-selector prediction.
"""

from __future__ import annotations

from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.selectors.response_selector import ResponseSelector
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY
from rasa.shared.nlu.training_data.message import Message

from bot.components.emergency import POLICY_KEY_HINT, force_policy_key


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class RetrievalIntentResponseSelector(ResponseSelector):
    def process(self, messages: List[Message]) -> List[Message]:
        wanted = [m for m in messages if (m.get(INTENT) or {}).get(INTENT_NAME_KEY) == self.retrieval_intent]
        if wanted:
            super().process(wanted)  # annotates the messages in place
            for message in wanted:
                # The EmergencyDetector knew the answer ("如果在国外生病了怎么办 要准备什么": insurance).
                if message.get(POLICY_KEY_HINT):
                    force_policy_key(message, message.get(POLICY_KEY_HINT))
        return messages
