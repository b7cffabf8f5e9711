"""The traveller's answers after a ticket closes: the written result, 1-5 stars, a comment.

The ticketing API sends the written result with a confirm button and sets `survey_ticket`
and `survey_step` in the conversation (api/app/services/notifier.py). From there:

    confirm  --确认/有异议-->  rating  --1-5星-->  comment  --意见/不用了-->  done

`survey_step` is a feature of the conversation: data/rules/survey.yml sends an answer to this
action only while a step is open and no form is active, so "5" means five stars after the
survey question and stays a phone digit or a day number inside the complaint and itinerary
forms. A star button (`/rate_service{"survey_rating": "4"}`) or "4星" works at any time the
conversation has a closed ticket to rate. Buttons are ordered 1 to 5 stars, so on WeChat,
where they become numbered options, option n is n stars.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

import servicekit

from actions.clients.contract import SurveyAnswer
from actions.clients.ticketing import TicketingError, Unavailable, get_client
from actions.forms.base import latest_text

TICKET, STEP = "survey_ticket", "survey_step"
CONFIRM, RATING, COMMENT = "confirm", "rating", "comment"
LOW = 2  # as the API: 1-2 stars ask the owner for a second follow-up

_STARS = re.compile(r"([1-5一二两三四五])\s*(?:颗|个)?\s*(?:星|分)")
_BARE = re.compile(r"^\s*([1-5])\s*[。.!！]?\s*$")
# Words only when no number was given; the strongest first ("不满意" contains "满意").
_WORDS = (
    (("非常不满意", "很不满意", "极差", "太差", "差评"), 1),
    (("不满意", "不太满意"), 2),
    (("一般", "还行", "凑合"), 3),
    (("非常满意", "很满意", "满分", "好评", "特别满意"), 5),
    (("满意", "挺好", "不错"), 4),
)
_CONFIRM_YES = re.compile(r"^\s*(?:1|确认|认可|同意|可以|好的?|没问题|是的?)\s*[。.!！]?\s*$")
_CONFIRM_NO = re.compile(r"^\s*(?:2|有异议|不认可|不同意|不接受|不行)\s*[。.!！]?\s*$")
_NO_COMMENT = re.compile(r"^\s*(?:不用了?|没有了?|无|没了|算了|不需要|no)\s*[。.!！]?\s*$", re.IGNORECASE)


def parse_rating(text: Text, entity: Optional[Any] = None) -> Optional[int]:
    """1-5 from a star button's entity, "4星" / "五颗星" / "给3分", "★★★", a bare "5", or words."""
    if entity is not None:
        try:
            value = int(str(entity).strip())
        except ValueError:
            value = 0
        if 1 <= value <= 5:
            return value
    text = text or ""
    found = _STARS.search(text)
    if found:
        digit = found.group(1)
        return servicekit.chinese_number(digit)
    stars = text.count("★")
    if 1 <= stars <= 5:
        return stars
    bare = _BARE.match(text)
    if bare:
        return int(bare.group(1))
    for words, value in _WORDS:
        if any(word in text for word in words):
            return value
    return None


def _entity(tracker: Tracker, name: Text) -> Optional[Any]:
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if entity.get("entity") == name:
            return entity.get("value")
    return None


def _intent(tracker: Tracker) -> Text:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name") or ""


class ActionSurveyAnswer(Action):
    def name(self) -> Text:
        return "action_survey_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        ticket_no = tracker.get_slot(TICKET)
        if not ticket_no:
            dispatcher.utter_message(response="utter_survey_nothing_open")
            return [SlotSet(STEP, None)]
        step = tracker.get_slot(STEP)
        text, intent = latest_text(tracker), _intent(tracker)
        rating = parse_rating(text, _entity(tracker, "survey_rating"))
        if intent == "rate_service" or (step == RATING and rating is not None):
            return await self._rating(dispatcher, tracker, ticket_no, rating)
        if step == CONFIRM:
            return await self._confirm(dispatcher, tracker, ticket_no, text, intent, rating)
        if step == COMMENT:
            return await self._comment(dispatcher, tracker, ticket_no, text, intent)
        # A rating step with no rating in the message: say how to rate later, and let go.
        dispatcher.utter_message(response="utter_survey_not_rated")
        return [SlotSet(STEP, None)]

    async def _send(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, ticket_no: Text, answer: SurveyAnswer
    ) -> Optional[Dict[Text, Any]]:
        try:
            return dict(await get_client().answer_survey(ticket_no, tracker.sender_id, answer))
        except Unavailable:
            dispatcher.utter_message(response="utter_survey_unavailable")
        except TicketingError:
            # Not this conversation's ticket any more (or never was): nothing to rate here.
            dispatcher.utter_message(response="utter_survey_nothing_open")
        return None

    async def _confirm(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        ticket_no: Text,
        text: Text,
        intent: Text,
        rating: Optional[int],
    ) -> List[EventType]:
        if intent == "affirm" or _CONFIRM_YES.match(text):
            confirmed = True
        elif intent == "deny" or _CONFIRM_NO.match(text):
            confirmed = False
        else:
            dispatcher.utter_message(response="utter_survey_ask_confirm")
            return []
        if await self._send(dispatcher, tracker, ticket_no, {"confirmed": confirmed}) is None:
            return []  # the step stays open: the same answer again retries
        dispatcher.utter_message(response="utter_survey_confirmed" if confirmed else "utter_survey_disputed")
        dispatcher.utter_message(response="utter_survey_ask_rating")
        return [SlotSet(STEP, RATING)]

    async def _rating(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, ticket_no: Text, rating: Optional[int]
    ) -> List[EventType]:
        if rating is None:
            dispatcher.utter_message(response="utter_survey_ask_rating")
            return [SlotSet(STEP, RATING)]
        recorded = await self._send(dispatcher, tracker, ticket_no, {"rating": rating})
        if recorded is None:
            return []
        stars = recorded.get("satisfaction") or rating
        score = recorded.get("score") or stars * 20
        dispatcher.utter_message(response="utter_survey_rated", survey_stars=stars, survey_score=score)
        if stars <= LOW:
            dispatcher.utter_message(response="utter_survey_low")
        dispatcher.utter_message(response="utter_survey_ask_comment")
        return [SlotSet(STEP, COMMENT)]

    async def _comment(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, ticket_no: Text, text: Text, intent: Text
    ) -> List[EventType]:
        done: List[EventType] = [SlotSet(STEP, None), SlotSet(TICKET, None)]
        # "不用了", a thank-you or goodbye ends the survey without a comment.
        closing = intent in ("deny", "thank", "goodbye", "affirm")
        if closing or _NO_COMMENT.match(text) or not text.strip() or text.startswith("/"):
            dispatcher.utter_message(response="utter_survey_done")
            return done
        if await self._send(dispatcher, tracker, ticket_no, {"comment": text.strip()[:500]}) is None:
            return []
        dispatcher.utter_message(response="utter_survey_comment_saved")
        return done
