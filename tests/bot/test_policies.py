"""TED sits out the turns a rule or a memorised story decides (bot/policies.py).

Runs the trained model in-process, once as shipped and once with the skip switched
off (stock Rasa behaviour), and compares the winning action, policy and confidence on:

- conversation states built from every pair of intents;
- every turn of the test stories (tests/stories/), replayed event by event: each
  prefix that ends before one of the story's actions, form turns (an active loop and a
  requested slot) included;
- (e2e) every turn of real conversations from tests/conversations/suite.yml, played
  through the running services and read back from Rasa's tracker.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Dict, Iterator, List, Sequence, Tuple

import pytest
from rasa.core.agent import Agent
from rasa.core.policies.ted_policy import TED
from rasa.shared.core.events import ActionExecuted, Event, UserUttered
from rasa.shared.core.generator import TrainingDataGenerator
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.core.training_data.structures import StoryGraph

import bot.policies
from bot.policies import MemoizationVerdictPolicy, RuleVerdictPolicy

DECISIVE = {MemoizationVerdictPolicy.__name__, RuleVerdictPolicy.__name__}
TEST_STORIES = Path(__file__).resolve().parents[1] / "stories" / "test_stories.yml"


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
    ted_runs = compare_with_stock(agent, states, monkeypatch)
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


# --- replayed conversations: the test stories and end-to-end trackers ------------------------


# Run by Rasa's processor without asking the policies.
NOT_PREDICTED = {"action_session_start", "action_extract_slots"}


def turns(tracker: DialogueStateTracker, slots) -> Iterator[DialogueStateTracker]:
    """Every state of `tracker` in which the bot chose its next action: each prefix that ends
    just before an ActionExecuted (the conversation's opening action_listen aside)."""
    events = list(tracker.events)
    for i, event in enumerate(events):
        if i > 0 and isinstance(event, ActionExecuted) and event.action_name not in NOT_PREDICTED:
            yield DialogueStateTracker.from_events(tracker.sender_id, events[:i], slots)


def form_turn(tracker: DialogueStateTracker) -> bool:
    return bool(tracker.active_loop_name) and tracker.get_slot("requested_slot") is not None


def compare_with_stock(agent: Agent, states: Sequence[DialogueStateTracker], monkeypatch) -> List[int]:
    """Predicts every state as shipped and as stock Rasa: same winner, and TED ran exactly
    when no rule or memorised story decided. Returns how many times TED ran per state."""
    runs: Dict[str, int] = {"ted": 0}
    original = TED.run_inference
    monkeypatch.setattr(
        TED,
        "run_inference",
        lambda self, *a, **k: runs.update(ted=runs["ted"] + 1) or original(self, *a, **k),
    )

    def fresh(tracker: DialogueStateTracker) -> DialogueStateTracker:
        # A prediction clears the tracker's pending follow-up action (Rasa's processor): each
        # run gets its own copy of the state.
        return DialogueStateTracker.from_events(tracker.sender_id, list(tracker.events), agent.domain.slots)

    shipped, ted_runs = [], []
    for tracker in states:
        before = runs["ted"]
        shipped.append(predict(agent, fresh(tracker)))
        ted_runs.append(runs["ted"] - before)
    with monkeypatch.context() as stock_rasa:
        stock_rasa.setattr(bot.policies, "decided_priority", lambda tracker: None)
        stock = [predict(agent, fresh(tracker)) for tracker in states]
    for tracker, mine, theirs, ran in zip(states, shipped, stock, ted_runs):
        where = (tracker.sender_id, len(tracker.events), tracker.active_loop_name)
        assert mine == theirs, where
        action, policy, confidence = mine
        # TED runs after a rejected action (the ensemble zeroes the rejected winner).
        decided = policy in DECISIVE and confidence >= 1.0 and not bot.policies._last_action_rejected(tracker)
        # A pending follow-up action (after a session start) is run without asking any policy.
        assert ran == (0 if decided or policy == "followup_action" else 1), (where, mine)
    return ted_runs


@pytest.fixture(scope="module")
def story_turns(agent: Agent) -> List[DialogueStateTracker]:
    steps = YAMLStoryReader(agent.domain).read_from_file(str(TEST_STORIES))
    generator = TrainingDataGenerator(
        StoryGraph(steps), agent.domain, use_story_concatenation=False, augmentation_factor=0
    )
    stories = generator.generate_story_trackers()
    assert len(stories) == len({step.block_name for step in steps})
    return [state for story in stories for state in turns(story, agent.domain.slots)]


def test_the_test_stories_get_the_same_winner_turn_by_turn(agent: Agent, story_turns, monkeypatch):
    forms = [t for t in story_turns if form_turn(t)]
    assert len(story_turns) >= 100 and len(forms) >= 20  # form turns compared, not only answers
    assert {t.active_loop_name for t in forms} >= {"verify_form", "complaint_form"}
    ted_runs = compare_with_stock(agent, story_turns, monkeypatch)
    # Every turn of the test stories is a rule or a memorised story, so TED sits them all out
    # here (stock Rasa ran it on each, and the comparison shows it never changed the winner).
    assert any(r == 0 for r in ted_runs)
    assert any(r == 0 for t, r in zip(story_turns, ted_runs) if form_turn(t))  # skipped in forms too


# One conversation of each kind the forms and loops handle, played through the real services.
E2E_CATEGORIES = (
    "verification",
    "ordinary_complaint",
    "cancel",
    "itinerary_followup",
    "refund",
    "all_at_once",
)


@pytest.mark.e2e
def test_end_to_end_trackers_get_the_same_winner_turn_by_turn(agent: Agent, rasa_url, api_url, monkeypatch):
    import httpx

    from tests.conftest import RASA_AUTH
    from tests.conversations.runner import SUITE_PATH, RestChat, Runner, load, wrong_digit_budget

    runner = Runner(rasa_url, api_url)
    chosen: Dict[str, object] = {}
    for conversation in load(SUITE_PATH):
        if conversation.category in E2E_CATEGORIES and not conversation.known_failure:
            # No wrong phone digits: the suite's lockout budget per booking stays its own.
            if len(conversation.turns) > 1 and not any(wrong_digit_budget([conversation]).values()):
                chosen.setdefault(conversation.category, conversation)
    assert set(chosen) == set(E2E_CATEGORIES)
    states: List[DialogueStateTracker] = []
    for conversation in chosen.values():
        chat = RestChat(rasa_url)
        runner.play(conversation, send=chat)  # its verdict is test_conversations.py's business
        response = httpx.get(f"{rasa_url}/conversations/{chat.sender}/tracker", headers=RASA_AUTH, timeout=60)
        response.raise_for_status()
        recorded = DialogueStateTracker.from_dict(chat.sender, response.json()["events"], agent.domain.slots)
        states.extend(turns(recorded, agent.domain.slots))
    assert len(states) >= 3 * len(chosen)
    assert any(form_turn(t) for t in states)
    compare_with_stock(agent, states, monkeypatch)
