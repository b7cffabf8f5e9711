"""Policy answers, one per question the traveller asked in the message.

The NLU pipeline splits a message into clauses and classifies each one
(`bot/components/clauses.py`, parse data key `clauses`), so "能开发票吗？另外行李限重多少"
gets both answers. Refund questions about the traveller's own booking get the amount
for that booking (`actions/refunds.py`).
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.utils.reading import is_question

REFUND_KEY = "policy/refund"
MIN_CLAUSE_CONFIDENCE = 0.6


def retrieval_key(tracker: Tracker) -> Optional[Text]:
    """'policy/refund' as chosen by the ResponseSelector for the latest message."""
    selector = (tracker.latest_message or {}).get("response_selector", {})
    return selector.get("policy", {}).get("response", {}).get("intent_response_key")


def clauses(tracker: Tracker) -> List[Dict[str, Any]]:
    return list((tracker.latest_message or {}).get("clauses") or [])


def extra_policy_keys(tracker: Tracker, answered: Iterable[Optional[str]]) -> List[str]:
    """Policy questions in the other clauses of the message, in the order asked."""
    seen = {key for key in answered if key}
    keys: List[str] = []
    for clause in clauses(tracker):
        key = clause.get("response_key")
        if (
            clause.get("intent") == "policy"
            and key
            and key not in seen
            and (clause.get("confidence") or 0) >= MIN_CLAUSE_CONFIDENCE
            and is_question(clause.get("text") or "")
        ):
            seen.add(key)
            keys.append(key)
    return keys


async def answer_extra_questions(
    dispatcher: CollectingDispatcher, tracker: Tracker, primary_key: Optional[str]
) -> List[EventType]:
    events: List[EventType] = []
    for key in extra_policy_keys(tracker, [primary_key]):
        events += await answer_key(dispatcher, tracker, key, extra=True)
    return events


async def answer_key(
    dispatcher: CollectingDispatcher, tracker: Tracker, key: str, extra: bool = False
) -> List[EventType]:
    from actions.refunds import answer_refund_question  # refunds needs this module too

    if key == REFUND_KEY:
        return await answer_refund_question(dispatcher, tracker, extra=extra)
    dispatcher.utter_message(response=f"utter_{key}")
    return []


async def answer_policy_question(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    """The question the message is about, then any other policy question in it."""
    key = retrieval_key(tracker)
    if not key:
        dispatcher.utter_message(response="utter_default")
        return []
    # In the order asked: "能开发票吗？另外行李限重多少" gets the invoice answer first.
    asked = extra_policy_keys(tracker, [])
    keys = asked if key in asked else [key] + asked
    events: List[EventType] = []
    for each in keys:
        events += await answer_key(dispatcher, tracker, each, extra=each != key)
    return events
