"""bot/tracker_store.py against Rasa's own SQLTrackerStore, on the machine's PostgreSQL.

One long conversation (small talk, a form, a handoff pause, a revert) is written turn by turn
through the windowed store; after every turn the windowed tracker is compared with what stock
Rasa loads from the same table (the whole session) and with a tracker kept in memory that never
saw a checkpoint: the same slots, form, pause, latest message and action, the same last events,
the same states for every turn a policy looks at. And the window stays bounded.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Iterator, List

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    Event,
    SlotSet,
    UserUttered,
    UserUtteranceReverted,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.tracker_store import CHECKPOINT, WindowedSQLTrackerStore

ROOT = Path(__file__).resolve().parents[2]
DB = "travel_test_window_tracker"
WINDOW = 60
CHECKPOINT_EVERY = 25
HISTORY = 10  # states compared from the end: more than max_history (5) and any rule of ours


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain.yml"))


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    psycopg2 = pytest.importorskip("psycopg2")
    try:
        conn = psycopg2.connect(
            host="127.0.0.1", port=5432, user="postgres", dbname="postgres", connect_timeout=3
        )
    except psycopg2.OperationalError as error:
        pytest.skip(f"PostgreSQL on 127.0.0.1:5432 unreachable: {error}")
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{DB}"')
    yield DB
    with conn.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
    conn.close()


def stores(domain: Domain, db: str):
    common = dict(
        domain=domain, dialect="postgresql", host="127.0.0.1", port=5432, db=db, username="postgres"
    )
    windowed = WindowedSQLTrackerStore(window_events=WINDOW, checkpoint_events=CHECKPOINT_EVERY, **common)
    return windowed, SQLTrackerStore(**common)


def user(text: str, intent: str) -> UserUttered:
    return UserUttered(text, intent={"name": intent, "confidence": 1.0})


def turn_events(i: int) -> List[Event]:
    """Turn i of the conversation: mostly small talk, with a form, a pause and a revert."""
    if i % 40 == 10:  # a complaint form opens, asks, and stays active for the next turns
        return [
            user("我要投诉", "complain"),
            ActionExecuted("complaint_form"),
            ActiveLoop("complaint_form"),
            SlotSet("requested_slot", "complaint_description"),
            BotUttered("请描述一下发生了什么"),
            ActionExecuted("action_listen"),
        ]
    if i % 40 in (11, 12):
        return [
            user(f"导游态度很差 {i}", "inform"),
            ActionExecuted("complaint_form"),
            SlotSet("complaint_description", f"导游态度很差 {i}"),
            SlotSet("requested_slot", "complaint_when_where"),
            BotUttered("什么时候在哪里？"),
            ActionExecuted("action_listen"),
        ]
    if i % 40 == 13:  # the form ends
        return [
            user("算了", "cancel"),
            ActionExecuted("action_cancel_form"),
            ActiveLoop(None),
            SlotSet("requested_slot", None),
            SlotSet("complaint_description", None),
            ActionExecuted("action_listen"),
        ]
    if i % 40 == 20:  # a handoff: paused for a few turns
        return [user("转人工", "request_human"), ActionExecuted("action_handoff"), ConversationPaused()]
    if i % 40 in (21, 22):
        return [user(f"还在吗 {i}", "greet")]
    if i % 40 == 23:
        return [ConversationResumed(), ActionExecuted("action_listen")]
    if i % 40 == 30:  # a misunderstood message, reverted by the fallback
        return [
            user("啊啊啊", "nlu_fallback"),
            ActionExecuted("action_default_fallback"),
            UserUtteranceReverted(),
            ActionExecuted("action_listen"),
        ]
    if i == 1:  # given once, early: only a checkpoint carries it into later windows
        return [
            user("TR20260001", "inform"),
            ActionExecuted("action_read_message"),
            SlotSet("booking_ref", "TR20260001"),
            ActionExecuted("action_listen"),
        ]
    return [
        user(f"行李额是多少 {i}", "policy"),
        ActionExecuted("action_read_message"),
        SlotSet("read_message_id", f"m{i}"),
        ActionExecuted("action_answer_policy"),
        BotUttered(f"答案 {i}"),
        SlotSet("answered_message_id", f"m{i}"),
        ActionExecuted("action_listen"),
    ]


def summary(tracker: DialogueStateTracker, domain: Domain):
    return {
        "slots": tracker.current_slot_values(),
        "loop": tracker.active_loop_name,
        "paused": tracker.is_paused(),
        "latest_action": tracker.latest_action_name,
        "latest_text": tracker.latest_message.text if tracker.latest_message else None,
        "states": tracker.past_states(domain)[-HISTORY:],
        "rule_states": tracker.past_states(domain, ignore_rule_only_turns=True)[-HISTORY:],
    }


async def test_a_long_conversation_loads_a_bounded_window_with_the_same_state(domain, database):
    windowed, stock = stores(domain, database)
    sender = f"long-{uuid.uuid4().hex[:8]}"
    tracker = await windowed.get_or_create_tracker(sender)
    assert [e.as_dict()["event"] for e in tracker.events] == ["action"]
    reference = DialogueStateTracker(sender, domain.slots)  # never saw a checkpoint
    reference.update(tracker.events[0])
    windows = []
    for i in range(160):
        tracker = await windowed.retrieve(sender)
        for event in turn_events(i):
            tracker.update(event)
            reference.update(event)
        await windowed.save(tracker)

        loaded, full = await windowed.retrieve(sender), await stock.retrieve(sender)
        expected = summary(reference, domain)
        assert summary(loaded, domain) == expected, f"windowed store differs after turn {i}"
        assert summary(full, domain) == expected, f"stock Rasa reads the table differently after turn {i}"
        # The window's last events are the stored conversation's last events (checkpoints included).
        assert [e.as_dict() for e in loaded.events][-WINDOW:] == [e.as_dict() for e in full.events][-WINDOW:]
        windows.append(len(loaded.events))

    assert len(reference.events) > 1000
    # Bounded: the window plus at most one checkpoint interval, a turn and a checkpoint's slots.
    assert max(windows[-60:]) <= WINDOW + CHECKPOINT_EVERY + 7 + len(domain.slots)
    assert len((await stock.retrieve_full_tracker(sender)).events) > len(reference.events)  # checkpoints


async def test_checkpoints_only_between_settled_turns(domain, database):
    windowed, _ = stores(domain, database)
    sender = f"form-{uuid.uuid4().hex[:8]}"
    await windowed.get_or_create_tracker(sender)
    for i in range(60):  # a form that never ends: no turn starts settled
        tracker = await windowed.retrieve(sender)
        events = turn_events(10) if i == 0 else turn_events(11)
        for event in events:
            tracker.update(event)
        await windowed.save(tracker)
    with windowed.session_scope() as session:
        table = windowed.SQLEvent
        marked = (
            session.query(table).filter(table.sender_id == sender, table.intent_name == CHECKPOINT).count()
        )
    assert marked == 0
    assert (await windowed.retrieve(sender)).active_loop_name == "complaint_form"


async def test_saving_twice_stores_nothing_twice(domain, database):
    windowed, stock = stores(domain, database)
    sender = f"twice-{uuid.uuid4().hex[:8]}"
    tracker = await windowed.get_or_create_tracker(sender)
    for event in turn_events(0):
        tracker.update(event)
    await windowed.save(tracker)
    await windowed.save(tracker)
    assert len((await stock.retrieve(sender)).events) == 1 + len(turn_events(0))
