"""A message no flow claimed: find what it is for before asking.

"TR20260003 我叫王芳 136…，10月16号在三亚南山，导游自己跑去吃饭…要求道歉" carries so many
values that DIET reads it as `inform` (or `correct`); the story in it says it is a
complaint. A request to book a new trip that DIET did not understand gets the sales line.
Otherwise the traveller is asked what they want.
"""

from __future__ import annotations

import re
from typing import List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.forms.base import latest_intent, latest_text
from actions.itinerary import own_business
from actions.reader import complaint_slots_of
from actions.scope import is_new_booking
from actions.settings import get_settings
from actions.utils.reading import is_descriptive, is_question, read


_CJK = re.compile(r"[\u4e00-\u9fff]")


def tells_a_story(text: str) -> bool:
    """Six or more Chinese characters of what happened ("qwpeoi 嗯？？" is not a story)."""
    rest = read(text).rest
    return is_descriptive(rest) and not is_question(rest) and len(_CJK.findall(rest)) >= 6


def start_complaint(
    dispatcher: CollectingDispatcher, tracker: Tracker, text: Optional[str] = None
) -> List[EventType]:
    """Everything the message said (or `text`, its story) goes into the complaint; the form
    asks only what is missing."""
    dispatcher.utter_message(response="utter_complaint_start")
    slots = complaint_slots_of(tracker, text)
    return [SlotSet(k, v) for k, v in slots.items()] + [
        SlotSet("form_failures", 0.0),
        FollowupAction("complaint_form"),
    ]


def route(dispatcher: CollectingDispatcher, tracker: Tracker) -> Optional[List[EventType]]:
    """Where a story, a new booking or a question about the traveller's own trip goes; None
    when the message is none of them."""
    text = latest_text(tracker)
    if tells_a_story(text):
        return start_complaint(dispatcher, tracker)
    if is_new_booking(text):
        dispatcher.utter_message(response="utter_out_of_scope_booking", sales_line=get_settings().sales_line)
        return []
    return own_business(tracker)


class ActionRouteMessage(Action):
    def name(self) -> Text:
        return "action_route_message"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        routed = route(dispatcher, tracker)
        if routed is not None:
            return routed
        if latest_intent(tracker) == "correct":
            dispatcher.utter_message(response="utter_correction_out_of_context")
        elif (tracker.active_loop or {}).get("name"):
            # A form is asking ("尾号5678" while the complaint asks when and where): the form
            # asks its question again next; asking "what do you want" here contradicted it.
            dispatcher.utter_message(response="utter_not_needed_here")
        else:
            dispatcher.utter_message(response="utter_ask_what_for")
        return []
