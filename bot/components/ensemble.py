"""A second opinion on DIET's intent: logistic regression on the same sparse features.

DIET is often certain (confidence 1.0) about text unlike anything it was trained on:
"怎么练出腹肌" came out as a policy question at 1.0, so the FallbackClassifier behind it
never had a chance to ask. A linear model over the same word and character n-gram
counts is less certain where the words are new. This component blends the two
rankings (`diet_weight` × DIET + the rest × logistic regression) and, when the blend's
first intent is one it `decides` and DIET's is not one it `protects`, puts the blend in the
message (`overrules`); otherwise DIET's ranking stands. It runs after the
FallbackClassifier, so an off-topic message the blend is unsure of still gets the off-topic
answer, and a message DIET was unsure of can still be read by the blend. Rasa's own
LogisticRegressionClassifier does the training and the storage; this class only changes
what `process` does with its probabilities.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix, hstack, vstack

CONFIDENCE = "confidence"
FALLBACK = "nlu_fallback"
# DIET's own top intent before the blend (not in the parse output): the emergency detector
# keeps its "DIET alone must be sure" rule on the scale it was set for.
DIET_INTENT = "diet_intent"


def blend(first: List[Dict[str, Any]], second: Dict[str, float], weight: float) -> List[Dict[str, Any]]:
    """weight × first + (1 - weight) × second, by intent name, best first."""
    scores: Dict[str, float] = {name: (1 - weight) * p for name, p in second.items()}
    for entry in first:
        name = entry.get(INTENT_NAME_KEY)
        # The FallbackClassifier's verdict is not an intent the models can have an opinion on.
        if name and name != FALLBACK:
            scores[name] = scores.get(name, 0.0) + weight * float(entry.get(CONFIDENCE) or 0.0)
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    return [{INTENT_NAME_KEY: name, CONFIDENCE: score} for name, score in ranked]


def _first_intent(ranking: List[Dict[str, Any]]) -> str:
    """DIET's top intent, also when the FallbackClassifier put its verdict first."""
    return next((r.get(INTENT_NAME_KEY) for r in ranking if r.get(INTENT_NAME_KEY) != FALLBACK), "") or ""


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class BlendedIntentClassifier(LogisticRegressionClassifier):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # `decides`: the intents the blend may choose; otherwise DIET's ranking stands. The
        # blend's probabilities are softer than DIET's, and the fallback and clause-answer
        # thresholds and short answers inside forms ("继续填写", "不，我还是要投诉") were
        # read on DIET's scale; empty = the blend always decides.
        return {
            **LogisticRegressionClassifier.get_default_config(),
            "diet_weight": 0.5,
            "max_iter": 300,
            "decides": [],
            # DIET's intents the blend never overrules, however unsure DIET is: a traveller in
            # danger or asking for a person must not be told "that is not my job".
            "protects": [],
            # Where the blend and DIET name the same first intent, DIET's ranking stays (the
            # thresholds downstream were set on DIET's scale); a message the FallbackClassifier
            # gave up on still takes the blend's.
            "keeps_agreeing_diet": False,
        }

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        # Rasa's version runs `process` over the training examples, which would overwrite
        # their intent labels for every component after this one.
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        if not hasattr(self.clf, "classes_"):
            return messages
        # A message left empty by the normaliser ("   ") lacks some featurizers' features, so
        # its row is narrower than the model's: the blend has nothing to say about it (an
        # exception here would cost the traveller the reply).
        rows = [(m, row) for m in messages if (row := self._row(m)) is not None]
        usable = [(m, row) for m, row in rows if row.shape[1] == self.clf.n_features_in_]
        if usable:
            self._blend([m for m, _ in usable], vstack([row for _, row in usable]))
        return messages

    @staticmethod
    def _row(message: Message) -> Any:
        """`_create_X` of one message, combining its features once (Rasa's combines every
        featurizer's token rows too, and the check for features did the same again: 3 % of
        the server's CPU at 20 conversations)."""
        sparse = message.get_sparse_features(TEXT)[1]
        if sparse is None:
            return None
        dense = message.get_dense_features(TEXT)[1]
        return hstack([csr_matrix(sparse.features), csr_matrix(dense.features if dense else [])])

    def _blend(self, messages: List[Message], features: Any) -> None:
        probabilities = self.clf.predict_proba(features)
        weight = float(self.config["diet_weight"])
        length = int(self.config.get("ranking_length") or 10)
        for message, row in zip(messages, probabilities):
            linear = dict(zip(self.clf.classes_, (float(p) for p in row)))
            if message.get(INTENT):
                message.set(DIET_INTENT, dict(message.get(INTENT)))
            before = message.get(INTENT_RANKING_KEY) or []
            ranking = blend(before, linear, weight)[:length]
            given_up = (message.get(INTENT) or {}).get(INTENT_NAME_KEY) == FALLBACK
            if overrules(before, ranking, given_up, self.config):
                message.set(INTENT, dict(ranking[0]), add_to_output=True)
                message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)


def overrules(
    diet: List[Dict[str, Any]], blended: List[Dict[str, Any]], given_up: bool, config: Dict
) -> bool:
    """Does the blend's ranking replace DIET's?

    `decides`: the intents the blend may choose (empty: any). `protects`: DIET's first intents
    it never overrules (a traveller in danger, asking for a person, answering a form's yes/no
    question, or off-topic by DIET's own reading) for another one. `keeps_agreeing_diet`: where both name the
    same first intent DIET's ranking stays, unless the FallbackClassifier gave up on DIET.
    """
    if not blended:
        return False
    first = blended[0][INTENT_NAME_KEY]
    diet_first = _first_intent(diet)
    decides = set(config.get("decides") or [])
    if decides and first not in decides:
        return False
    if diet_first in set(config.get("protects") or []) and first != diet_first:
        return False
    return not (config.get("keeps_agreeing_diet") and not given_up and first == diet_first)
