"""Policy questions: the ResponseSelector's answer, one per question asked."""

from __future__ import annotations

import re
from typing import List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

import servicekit

from actions.questions import answer_policy_question, clauses, story_beside_questions
from actions.router import start_complaint, tells_a_story

_COMPLAINT = re.compile(r"投诉|投訴|complain|太差|太过分|差劲|要求.{0,10}(赔|退|道歉)")
# "酒店太吵了我要投诉，顺便问下能开发票吗": too short to be the story, but a complaint all the same
# (the form asks what happened).
_WANTS_TO_COMPLAIN = servicekit.WANTS_TO_COMPLAIN


class ActionAnswerPolicy(Action):
    def name(self) -> Text:
        return "action_answer_policy"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        events = await answer_policy_question(dispatcher, tracker)
        story = story_beside_questions(tracker)
        complaint = (_COMPLAINT.search(story) and tells_a_story(story)) or _WANTS_TO_COMPLAIN.search(story)
        if clauses(tracker) and not tracker.active_loop and complaint:
            # "航班延误了三个小时没人通知，我要投诉！另外延误了能赔吗": the answer, then the complaint.
            events = [e for e in events if e.get("event") != "followup"]
            events += start_complaint(dispatcher, tracker, text=story)
        return events
