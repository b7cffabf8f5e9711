"""The survey action (actions/survey.py) against the real ticketing API: the traveller's
confirmation, stars and comment land on the ticket of their conversation, and nowhere else."""

from __future__ import annotations

import uuid
from typing import Any, Dict, List, Optional

import httpx
import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.survey import ActionSurveyAnswer, parse_rating
from tests import staff

SERVICE = {"Authorization": "Bearer dev-service-token"}
RESULT = {
    "findings": "经核实酒店房间确有卫生问题。",
    "measures": "已安排换房并退还一晚房费，酒店已整改。",
    "apology": "感谢您的反馈，再次向您致歉。",
}


@pytest.mark.parametrize(
    "text, entity, expected",
    [
        ("", "4", 4),
        ("5", None, 5),
        ("5。", None, 5),
        ("五星好评", None, 5),
        ("给3分", None, 3),
        ("两星，不太满意", None, 2),
        ("4颗星", None, 4),
        ("★★★", None, 3),
        ("非常不满意", None, 1),
        ("不满意", None, 2),
        ("很满意", None, 5),
        ("还行吧", None, 3),
        ("尾号5678", None, None),
        ("第5天住哪", None, None),
        ("6", None, None),
        ("", "9", None),
    ],
)
def test_parse_rating(text: str, entity: Optional[str], expected: Optional[int]) -> None:
    assert parse_rating(text, entity) == expected


def closed_ticket(api_url: str, conversation: str) -> str:
    """A ticket opened from `conversation`, walked to closed by a supervisor."""
    created = httpx.post(
        f"{api_url}/tickets",
        json={
            "booking_ref": "TR20260001",
            "name": "张伟",
            "phone": "13812345678",
            "channel": "socketio",
            "conversation_id": conversation,
            "description": "酒店房间有蟑螂，前台态度冷淡，不给换房。",
        },
        headers=SERVICE,
        timeout=30,
    )
    assert created.status_code == 201, created.text
    no = created.json()["ticket_no"]
    boss = staff.login(api_url, "supervisor")
    for status in ("investigating", "plan_made", "resolved", "followed_up", "closed"):
        if status == "followed_up":
            answer = httpx.post(
                f"{api_url}/tickets/{no}/survey",
                json={"rating": 4},
                headers={**SERVICE, "X-Sender-Id": conversation},
                timeout=10,
            )
            assert answer.status_code == 200, answer.text
        if status == "closed":
            assert (
                httpx.put(f"{api_url}/tickets/{no}/result", json=RESULT, headers=boss, timeout=30).status_code
                == 200
            )
        moved = httpx.post(
            f"{api_url}/tickets/{no}/transitions",
            json={"status": status, **({"plan": "核实后与酒店协商处理"} if status == "plan_made" else {})},
            headers=boss,
            timeout=30,
        )
        assert moved.status_code == 200, moved.text
    return no


def tracker(
    sender: str, slots: Dict[str, Any], text: str, intent: str = "inform", entities: Optional[List] = None
) -> Tracker:
    return Tracker(
        sender_id=sender,
        slots=slots,
        latest_message={"text": text, "intent": {"name": intent}, "entities": entities or []},
        events=[{"event": "user", "text": text}],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def responses(dispatcher: CollectingDispatcher) -> List[str]:
    return [m["response"] for m in dispatcher.messages]


async def test_confirm_then_low_stars_then_a_comment_land_on_the_ticket(client, api_url):
    sender = f"survey-{uuid.uuid4().hex[:10]}"
    no = closed_ticket(api_url, sender)
    action = ActionSurveyAnswer()

    dispatcher = CollectingDispatcher()
    slots = {"survey_ticket": no, "survey_step": "confirm"}
    events = await action.run(dispatcher, tracker(sender, slots, "/affirm", "affirm"), {})
    assert events == [SlotSet("survey_step", "rating")]
    assert responses(dispatcher) == ["utter_survey_confirmed", "utter_survey_ask_rating"]

    dispatcher = CollectingDispatcher()
    slots["survey_step"] = "rating"
    events = await action.run(dispatcher, tracker(sender, slots, "2", "inform"), {})
    assert events == [SlotSet("survey_step", "comment")]
    assert responses(dispatcher) == ["utter_survey_rated", "utter_survey_low", "utter_survey_ask_comment"]
    assert dispatcher.messages[0]["survey_score"] == 40

    dispatcher = CollectingDispatcher()
    slots["survey_step"] = "comment"
    events = await action.run(dispatcher, tracker(sender, slots, "导游后来也没有道歉", "complain"), {})
    assert events == [SlotSet("survey_step", None), SlotSet("survey_ticket", None)]
    assert responses(dispatcher) == ["utter_survey_comment_saved"]

    boss = staff.login(api_url, "supervisor")
    ticket = httpx.get(f"{api_url}/tickets/{no}", headers=boss, timeout=30).json()
    assert (ticket["confirmed"], ticket["satisfaction"], ticket["second_follow_up"]) == (True, 2, True)
    assert "旅客评价留言：导游后来也没有道歉" in [n["text"] for n in ticket["notes"]]


async def test_a_star_button_rates_and_another_conversation_cannot(client, api_url):
    sender = f"survey-{uuid.uuid4().hex[:10]}"
    no = closed_ticket(api_url, sender)
    button = [{"entity": "survey_rating", "value": "5"}]

    dispatcher = CollectingDispatcher()
    slots = {"survey_ticket": no, "survey_step": "rating"}
    await ActionSurveyAnswer().run(
        dispatcher, tracker("someone-else", slots, "/rate_service", "rate_service", button), {}
    )
    assert responses(dispatcher) == ["utter_survey_nothing_open"]

    dispatcher = CollectingDispatcher()
    events = await ActionSurveyAnswer().run(
        dispatcher, tracker(sender, slots, '/rate_service{"survey_rating": "5"}', "rate_service", button), {}
    )
    assert events == [SlotSet("survey_step", "comment")]
    assert responses(dispatcher) == ["utter_survey_rated", "utter_survey_ask_comment"]
    boss = staff.login(api_url, "supervisor")
    ticket = httpx.get(f"{api_url}/tickets/{no}", headers=boss, timeout=30).json()
    assert (ticket["satisfaction"], ticket["second_follow_up"]) == (5, False)


async def test_without_a_rating_the_survey_lets_go_and_with_the_api_down_it_stays(dead_api):
    slots = {"survey_ticket": "C20261206999", "survey_step": "rating"}
    dispatcher = CollectingDispatcher()
    events = await ActionSurveyAnswer().run(dispatcher, tracker("x", slots, "TR20260001", "inform"), {})
    assert events == [SlotSet("survey_step", None)] and responses(dispatcher) == ["utter_survey_not_rated"]

    dispatcher = CollectingDispatcher()
    events = await ActionSurveyAnswer().run(dispatcher, tracker("x", slots, "5", "inform"), {})
    assert events == [] and responses(dispatcher) == ["utter_survey_unavailable"]
