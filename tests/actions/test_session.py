"""A new session keeps what the traveller said, not the proof of who they are (actions/session.py).

Compared with Rasa's own `action_session_start` on the same tracker: the events are Rasa's,
less the verification slots; and the domain names the action, so Rasa runs ours.
"""

from __future__ import annotations

from typing import Dict, List

import pytest
import yaml
from rasa.core.actions.action import ActionSessionStart as RasaSessionStart
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.session import ActionSessionStart, is_verification_slot
from tests.services import ROOT

BOOKING = "TR20260001"


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain.yml"))


def verified_conversation(domain: Domain) -> DialogueStateTracker:
    """A traveller verified their booking, asked about the hotel, and went quiet."""
    return DialogueStateTracker.from_events(
        "session-test",
        [
            ActionExecuted("action_session_start"),
            SessionStarted(),
            ActionExecuted("action_listen"),
            UserUttered("查行程 TR20260001 尾号5678", {"name": "query_itinerary"}),
            SlotSet("booking_ref", BOOKING),
            SlotSet("phone_last4", "5678"),
            SlotSet("verified_booking", BOOKING),
            SlotSet("verify_purpose", "itinerary"),
            SlotSet("itinerary_item", "hotel"),
            SlotSet("complainant_name", "李雪"),
            SlotSet("verified_ticket", "C20260101001"),
            SlotSet("session_started_metadata", {"channel": "widget"}),
        ],
        slots=domain.slots,
    )


async def run_ours(tracker: DialogueStateTracker, domain: Domain) -> List[Dict]:
    state = tracker.current_state(EventVerbosity.ALL)
    sdk_tracker = Tracker.from_dict(state)
    events = await ActionSessionStart().run(CollectingDispatcher(), sdk_tracker, domain.as_dict())
    return list(events)


async def test_verification_is_not_carried_into_a_new_session(domain):
    tracker = verified_conversation(domain)
    events = await run_ours(tracker, domain)
    # Applied as Rasa applies an action's events: the new session starts from them.
    tracker.update_with_events([Event.from_parameters(e) for e in events], domain)
    assert tracker.get_slot("verified_booking") is None
    assert tracker.get_slot("verified_ticket") is None
    assert tracker.get_slot("phone_last4") is None
    assert tracker.get_slot("verify_purpose") is None
    # What the traveller told us stays, as with Rasa's own session start.
    assert tracker.get_slot("booking_ref") == BOOKING
    assert tracker.get_slot("complainant_name") == "李雪"
    assert tracker.get_slot("session_started_metadata") == {"channel": "widget"}
    assert tracker.latest_action_name == "action_listen"


async def test_the_events_are_rasas_less_the_verification_slots(domain):
    tracker = verified_conversation(domain)
    ours = await run_ours(tracker, domain)
    stock = await RasaSessionStart().run(
        CollectingOutputChannel(), TemplatedNaturalLanguageGenerator(domain.responses), tracker, domain
    )
    stock_slots = {e.key: e.value for e in stock if isinstance(e, SlotSet)}
    assert stock_slots["verified_booking"] == BOOKING  # what Rasa alone would carry over
    our_slots = {e["name"]: e["value"] for e in ours if e["event"] == "slot"}
    assert our_slots == {
        k: v for k, v in stock_slots.items() if not is_verification_slot(k) and v is not None
    }
    assert ours[0]["event"] == "session_started"
    assert (ours[-1]["event"], ours[-1]["name"]) == ("action", "action_listen")


async def test_without_carry_over_only_the_metadata_is_kept(domain):
    tracker = verified_conversation(domain)
    as_dict = domain.as_dict()
    as_dict["session_config"] = {
        **as_dict.get("session_config", {}),
        "carry_over_slots_to_new_session": False,
    }
    events = await ActionSessionStart().run(
        CollectingDispatcher(), Tracker.from_dict(tracker.current_state(EventVerbosity.ALL)), as_dict
    )
    assert [e for e in events if e["event"] == "slot"] == [
        {
            "event": "slot",
            "timestamp": None,
            "name": "session_started_metadata",
            "value": {"channel": "widget"},
        }
    ]


def test_rasa_runs_our_session_start():
    """Rasa calls the action server for action_session_start only when the domain names it."""
    declared = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["actions"]
    assert "action_session_start" in declared


@pytest.mark.parametrize(
    "name, verification",
    [
        ("verified_booking", True),
        ("verified_ticket", True),
        ("phone_last4", True),
        ("verify_purpose", True),
        ("verify_blocked", True),
        ("verification_expires_at", True),
        ("booking_ref", False),
        ("phone", False),
        ("complaint_description", False),
        ("session_started_metadata", False),
    ],
)
def test_which_slots_are_verification(name, verification):
    assert is_verification_slot(name) is verification


def test_bookkeeping_slots_never_reach_the_handoff_summary():
    from actions.handoff import collected_slots

    events = [
        {"event": "slot", "name": "verify_grant", "value": "grant-secret"},
        {"event": "slot", "name": "answered_message_id", "value": "m1"},
        {"event": "slot", "name": "booking_ref", "value": "TR20260001"},
    ]
    tracker = Tracker(
        "s",
        {"verify_grant": "grant-secret", "answered_message_id": "m1", "booking_ref": "TR20260001"},
        {},
        events,
        False,
        None,
        {},
        "",
    )
    assert collected_slots(tracker) == {"booking_ref": "TR20260001"}
