"""A change of mind: the traveller drops what they asked for and asks something else instead
("算了我先查下行程", "我要投诉 不对 我是想问下 导游电话", "退团… 算了 还是先问问延误怎么赔").

The new question is what they want: it is never a value for the form that was asking, the form
stops (a complaint keeps what it holds: "继续投诉" takes it up again) and the question is taken up.
"""

from __future__ import annotations

import re
from typing import List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from actions.utils.parsing import to_simplified
from actions.utils.reading import is_question
from actions.utils.text import DISCONTENT

# Words that take back what was just said or asked: "算了", "不对", "哦不", "等等", "先不投诉了".
_TAKE_BACK = re.compile(
    r"算了(?:算了)?吧?|不对(?:不对)?|不是(?:不是|要?投诉)?|[哦噢喔啊呃额]不|等等|等一下|等会儿?|且慢"
    r"|(?:先|暂时|还是)?不(?:投诉|退团?|办|弄|登记|填)了|(?:投诉|退团)?先(?:放一放|放放|放一下|不(?:投诉|退团?|办|弄)了?)"
)
# What may stand before it: nothing, or only the wish just taken back ("我要投诉", "退团").
_TAKEN_BACK = re.compile(r"^(?:[我们]*(?:要|想|想要)?(?:投诉|退团|取消行程)(?:一下)?)?$")
# Turning to something else: "我是想问下", "我先查下", "还是先问问", "我想了解", "先看看".
_ASKS = re.compile(
    r"^(?:我们?|还是|先|其实|就|只是|是|想|要|再)*(?:问(?!题)|查|看看|看一?下|了解|咨询|打听|想知道)"
)
_EDGES = re.compile(r"^[\s，,。.！!~～、…；;：:]+|[\s，,。.！!~～、…；;：:]+$")
_LEAD_FILLER = re.compile(r"^[哦噢喔啊呃额嗯诶哎唉]+")


def other_question(text: Optional[str]) -> Optional[str]:
    """The question a message turns to after taking back what it asked or was doing; None when
    the message does not (a story, an answer, a correction of a value: "不对，是第二天下午")."""
    from actions.router import not_complaining_but  # router -> forms: imported here, no cycle

    simple = to_simplified(text or "").strip()
    for match in _TAKE_BACK.finditer(simple):
        lead = re.sub(r"[\s，,。.！!~～、]", "", _LEAD_FILLER.sub("", simple[: match.start()]))
        if not _TAKEN_BACK.match(lead):
            continue
        rest = _EDGES.sub("", simple[match.end() :])
        if rest and (_ASKS.match(rest) or is_question(rest)) and not DISCONTENT.search(rest):
            return rest
    # "我不是投诉啊 我要查行程": saying what it is not is taking the complaint back too (s6 I14).
    instead = not_complaining_but(simple)
    if instead and (_ASKS.match(instead) or is_question(instead)) and not DISCONTENT.search(instead):
        return instead
    return None


async def take_up(dispatcher: CollectingDispatcher, tracker: Tracker, question: str) -> List[EventType]:
    """The question a change of mind turned to, once the form stopped: the traveller's own trip
    goes to the verification (it answers for the booking), a policy question is answered, else
    the traveller is asked what they want. Ends with the action that follows."""
    from actions.itinerary import PLAN_WORDS  # itinerary -> forms: no cycle at import
    from actions.questions import SURE_SELECTOR, answer_key, verify_for_itinerary
    from actions.reader import itinerary_slots

    item, day = itinerary_slots(question)
    if item or day or PLAN_WORDS.search(question):
        return verify_for_itinerary(item, day)
    selected = ((tracker.latest_message or {}).get("response_selector") or {}).get("policy", {}).get(
        "response"
    ) or {}
    key = selected.get("intent_response_key")
    if key and float(selected.get("confidence") or 0) >= SURE_SELECTOR:
        events = await answer_key(dispatcher, tracker, key)
        return [e for e in events if e.get("event") != "followup"] + [FollowupAction("action_listen")]
    dispatcher.utter_message(response="utter_ask_what_for")
    return [FollowupAction("action_listen")]


# Actions that answer a message inside a form before the form comes back to its question.
_ANSWERING = {"action_answer_policy", "action_out_of_scope", "action_capabilities"}


def answered_then_back(tracker: Tracker) -> bool:
    """Since the latest message, another action answered it and the form is back to its question
    (a policy question inside the verification: the rule answers it, then the form)."""
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            return False
        if event.get("event") == "action" and event.get("name") in _ANSWERING:
            return True
    return False
