"""TED sits out the turns a rule or a memorised story decides (bot/policies.py).

Runs the trained model in-process on conversation states built from every pair
of intents, once as shipped and once with the skip switched off (stock Rasa
behaviour), and compares the winning action and policy.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
from rasa.core.agent import Agent
from rasa.core.policies.ted_policy import TED
from rasa.shared.core.events import ActionExecuted, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

import bot.policies
from bot.policies import MemoizationVerdictPolicy, RuleVerdictPolicy

DECISIVE = {MemoizationVerdictPolicy.__name__, RuleVerdictPolicy.__name__}


@pytest.fixture(scope="module")
def agent(trained_model: Path) -> Agent:
    return Agent.load(str(trained_model))


def conversation(agent: Agent, intents: Tuple[str, ...]) -> DialogueStateTracker:
    """The state after the bot answered each intent but the last, which it must answer now."""
    events: List[Event] = [ActionExecuted("action_session_start"), ActionExecuted("action_listen")]
    tracker = DialogueStateTracker.from_events("policy-test", events, agent.domain.slots)
    for i, intent in enumerate(intents):
        tracker.update(UserUttered(intent, {"name": intent, "confidence": 1.0}))
        if i < len(intents) - 1:
            action = agent.processor.predict_next_with_tracker(tracker)
            best = max(action["scores"], key=lambda s: s["score"])["action"]
            tracker.update(ActionExecuted(best))
            tracker.update(ActionExecuted("action_listen"))
    return tracker


def predict(agent: Agent, tracker: DialogueStateTracker) -> Tuple[str, str, float]:
    result = agent.processor.predict_next_with_tracker(tracker)
    best = max(result["scores"], key=lambda s: s["score"])
    return best["action"], result["policy"], round(result["confidence"], 6)


@pytest.fixture(scope="module")
def states(agent: Agent) -> List[DialogueStateTracker]:
    intents = [i for i in agent.domain.intents if i != "nlu_fallback"]
    return [conversation(agent, pair) for pair in itertools.product(intents, repeat=2)]


def test_the_policies_run_in_the_order_the_skip_relies_on(agent: Agent, states, monkeypatch):
    # The graph resolves each policy's method when the model loads, so the
    # module-level helpers they call are what can be watched here.
    order: List[str] = []
    note, decided = bot.policies._note, bot.policies.decided_priority
    monkeypatch.setattr(bot.policies, "_note", lambda t, p: order.append(p.policy_name) or note(t, p))
    monkeypatch.setattr(bot.policies, "decided_priority", lambda t: order.append("TED") or decided(t))
    predict(agent, states[0])
    assert order == [MemoizationVerdictPolicy.__name__, RuleVerdictPolicy.__name__, "TED"]


def test_same_winner_as_stock_rasa_and_ted_runs_only_when_undecided(agent: Agent, states, monkeypatch):
    runs: Dict[str, int] = {"ted": 0}
    original = TED.run_inference
    monkeypatch.setattr(
        TED,
        "run_inference",
        lambda self, *a, **k: runs.update(ted=runs["ted"] + 1) or original(self, *a, **k),
    )

    shipped, ted_runs = [], []
    for tracker in states:
        before = runs["ted"]
        shipped.append(predict(agent, tracker))
        ted_runs.append(runs["ted"] - before)

    monkeypatch.setattr(bot.policies, "decided_priority", lambda tracker: None)  # stock behaviour
    stock = [predict(agent, tracker) for tracker in states]

    assert shipped == stock
    for (action, policy, confidence), ran in zip(shipped, ted_runs):
        decided = policy in DECISIVE and confidence >= 1.0
        assert ran == (0 if decided else 1), (action, policy, confidence)
    skipped = sum(1 for r in ted_runs if r == 0)
    assert skipped >= len(states) // 2  # the point of the change
    assert any(r == 1 for r in ted_runs)  # and TED still runs where no rule decides


def test_a_rejected_action_makes_ted_run(agent: Agent, states, monkeypatch):
    from rasa.shared.core.events import ActionExecutionRejected

    runs = {"ted": 0}
    original = TED.run_inference
    monkeypatch.setattr(
        TED,
        "run_inference",
        lambda self, *a, **k: runs.update(ted=runs["ted"] + 1) or original(self, *a, **k),
    )
    tracker = conversation(agent, ("complain",))
    action, _, _ = predict(agent, tracker)
    tracker.update(ActionExecutionRejected(action))
    predict(agent, tracker)
    assert runs["ted"] == 1
