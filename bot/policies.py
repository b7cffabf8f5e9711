"""Dialogue policies that let TED sit out the turns a rule or a memorised story decides.

Rasa runs every policy on every prediction and only then lets the ensemble pick
the most confident one, ties going to the higher priority. A rule match (1.0,
priority 4) or a memorised story (1.0, priority 3) therefore always beats TED
(priority 1), and TED's forward pass on such turns is thrown away: it was 29 %
of the Rasa server's CPU with 20 concurrent conversations (py-spy, README
"Figures"), and most turns of this assistant are rules (forms, answers).

The rule and memoization policies note a decisive verdict for the tracker they
were given; TED, which the graph runs after them for the same tracker (Rasa
orders the policy nodes by name, hence the class names: Memoization < Rule <
TED; tests/bot/test_policies.py checks the order), then returns "no
prediction" instead of running its model. Anything unusual makes TED run as before: no
verdict for this very tracker and length, a rejected action (the ensemble will
zero the winner's probability), or a TED trained on story text (end-to-end
predictions outrank intent-based ones). Same winner, same events.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Optional, Tuple

from rasa.core.policies.memoization import MemoizationPolicy
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.policies.rule_policy import RulePolicy
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActionExecutionRejected
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import TEXT

# The last verdict of this context (asyncio task, or thread): the graph runs all policies
# of one prediction synchronously, without awaiting in between, so the last verdict
# belongs to this prediction if its tracker is the very same object with the same number
# of events. Conversations handled concurrently run in tasks of their own, hence contexts
# of their own.
_verdicts: ContextVar[Optional[Tuple[DialogueStateTracker, int, Optional[int]]]] = ContextVar(
    "policy_verdicts", default=None
)


def _note(tracker: DialogueStateTracker, prediction: PolicyPrediction) -> None:
    key = (tracker, len(tracker.events))
    current = _verdicts.get()
    if current is None or current[0] is not key[0] or current[1] != key[1]:
        current = (key[0], key[1], None)
    decisive = prediction.max_confidence >= 1.0
    best = current[2]
    if decisive and (best is None or prediction.policy_priority > best):
        best = prediction.policy_priority
    _verdicts.set((key[0], key[1], best))


def decided_priority(tracker: DialogueStateTracker) -> Optional[int]:
    """Priority of the strongest decisive verdict already given for this tracker, if any."""
    current = _verdicts.get()
    if current is None or current[0] is not tracker or current[1] != len(tracker.events):
        return None
    return current[2]


def _last_action_rejected(tracker: DialogueStateTracker) -> bool:
    for event in reversed(tracker.events):
        if isinstance(event, ActionExecutionRejected):
            return True
        if isinstance(event, ActionExecuted):
            return False
    return False


class _NotesVerdict:
    """Mixin for a memorising policy: predict as the parent does, then note the verdict."""

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Optional[dict] = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        prediction = super().predict_action_probabilities(tracker, domain, rule_only_data, **kwargs)  # type: ignore[misc]
        _note(tracker, prediction)
        return prediction


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITH_END_TO_END_SUPPORT, is_trainable=True)
class RuleVerdictPolicy(_NotesVerdict, RulePolicy):
    """RulePolicy that notes when a rule decides the next action."""


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITH_END_TO_END_SUPPORT, is_trainable=True)
class MemoizationVerdictPolicy(_NotesVerdict, MemoizationPolicy):
    """MemoizationPolicy that notes when a memorised story decides the next action."""


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITH_END_TO_END_SUPPORT, is_trainable=True)
class TEDUndecidedPolicy(TEDPolicy):
    """TEDPolicy that skips its model when a higher-priority policy has already decided."""

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Optional[dict] = None,
        precomputations: Any = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        decided = decided_priority(tracker)
        if (
            decided is not None
            and decided > self.priority
            and TEXT not in (self.fake_features or {})
            and not _last_action_rejected(tracker)
        ):
            return self._prediction(self._default_predictions(domain))
        return super().predict_action_probabilities(
            tracker, domain, rule_only_data=rule_only_data, precomputations=precomputations, **kwargs
        )
