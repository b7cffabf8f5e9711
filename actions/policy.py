"""Policy questions: the ResponseSelector's answer, one per question asked."""

from __future__ import annotations

import re
from typing import List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

import servicekit

from actions.questions import (
    REFUND_KEY,
    answer_policy_question,
    clauses,
    retrieval_key,
    story_beside_questions,
)
from actions.refunds import keep_to_the_amount
from actions.router import start_complaint, tells_a_story

_COMPLAINT = re.compile(r"投诉|投訴|complain|太差|太过分|差劲|要求.{0,10}(赔|退|道歉)")
# "酒店太吵了我要投诉，顺便问下能开发票吗": too short to be the story, but a complaint all the same
# (the form asks what happened).
_WANTS_TO_COMPLAIN = servicekit.WANTS_TO_COMPLAIN


# A closing that asks for the booking number ("请提供订单号，我帮你…", "告诉我目的地和订单号，我把清单
# 发给你"): from the clause that asks on, dropped when the message (or conversation) gave the number.
_ASKS_FOR_BOOKING = re.compile(r"[^，,。；;]*(?:请提供|告诉我|发给我|请发)[^，,。；;]*订单号.*$", re.S)
GIVEN_BOOKING_NOTED = (
    "订单 {ref} 已记下，不用再发。按这个订单核实和办理（名额、费用、所需材料等）由人工客服负责，"
    "需要的话回复“转人工”，客服会直接看到这个订单。"
)
# What is left of the line is only the condition of the ask ("如果你正在机场遇到延误"): dropped too.
_CONDITION = re.compile(r"^(?:如果|如需|要是|假如)")


def without_asking_for_given(text: str, ref: str) -> str:
    """A policy answer whose last line asks for the booking number the traveller already gave:
    what is left of that line, then what happens with the number."""
    lines = text.rstrip().split("\n")
    asked = _ASKS_FOR_BOOKING.search(lines[-1])
    if not asked:
        return text
    kept = lines[-1][: asked.start()].rstrip("，,；; ")
    lines[-1:] = [kept + "。"] if kept and not _CONDITION.match(kept) else []
    return "\n".join(lines + [GIVEN_BOOKING_NOTED.format(ref=ref)])


def _known_booking(tracker: Tracker) -> str:
    return tracker.get_slot("booking_ref") or tracker.get_slot("verified_booking") or ""


def fill_in_given(dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, said: int) -> None:
    """Policy answers said from message `said` on, rendered here from the domain's text when they
    would ask for a booking number already known."""
    ref = _known_booking(tracker)
    if not ref:
        return
    for message in dispatcher.messages[said:]:
        name = message.get("response") or ""
        variants = (domain.get("responses") or {}).get(name) or []
        if not name.startswith("utter_policy/") or len(variants) != 1 or not variants[0].get("text"):
            continue
        text = variants[0]["text"]
        changed = without_asking_for_given(text, ref)
        if changed != text:
            message.update({"response": None, "text": changed})


class ActionAnswerPolicy(Action):
    def name(self) -> Text:
        return "action_answer_policy"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        amount_only = keep_to_the_amount(dispatcher, tracker)
        if amount_only is not None and retrieval_key(tracker) in (None, REFUND_KEY):
            # "我就是问问，退团扣多少" while the cancellation is verified: the amount comes once
            # verified, the general answer would only come first.
            return amount_only
        said = len(dispatcher.messages)
        events = (amount_only or []) + await answer_policy_question(dispatcher, tracker)
        fill_in_given(dispatcher, tracker, domain, said)
        story = story_beside_questions(tracker)
        complaint = (_COMPLAINT.search(story) and tells_a_story(story)) or _WANTS_TO_COMPLAIN.search(story)
        if clauses(tracker) and not tracker.active_loop and complaint:
            # "航班延误了三个小时没人通知，我要投诉！另外延误了能赔吗": the answer, then the complaint.
            events = [e for e in events if e.get("event") != "followup"]
            events += start_complaint(dispatcher, tracker, text=story)
        return events
