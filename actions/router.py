"""A message no flow claimed: find what it is for before asking.

"TR20260003 我叫王芳 136…，10月16号在三亚南山，导游自己跑去吃饭…要求道歉" carries so many
values that DIET reads it as `inform` (or `correct`); the story in it says it is a
complaint. A request to book a new trip that DIET did not understand gets the sales line.
The booking number given in answer to the offer to compute a refund verifies it for that
amount. A correction outside a form that gives another booking number ("哦不对，订单号写错了，是
TR20260019") means "use this one": that booking is verified and the question asked before is
answered again for it. Otherwise the traveller is asked what they want.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.forms.base import latest_intent, latest_text
from actions.itinerary import asks_about_meals, last_question, own_business
from actions.questions import answer_follow_up, answer_not_covered
from actions.reader import complaint_slots_of, itinerary_slots
from actions.refunds import verification_purpose
from actions.scope import answer_our_line, is_new_booking
from actions.settings import get_settings
from servicekit import WANTS_TO_COMPLAIN
from actions.utils.parsing import parse_booking_ref, to_simplified
from actions.utils.text import DISCONTENT
from actions.utils.reading import is_descriptive, is_question, read


_CJK = re.compile(r"[\u4e00-\u9fff]")
# The traveller's own words of correcting what they gave ("写错了", "不是这个单", "wrong number").
_CORRECTION = re.compile(
    r"(?:写|打|输|填|搞|弄|记|说|发|看)错|不对|不是(?:这|那)个?单?|应该是|换成|改成|改为|更正|纠正"
    r"|wrong|typo|mistake|meant|actually|correct(?:ion|ed)?",
    re.I,
)
# What the correction is about, and the little words around it: no story in them (only Chinese
# characters make a story).
_ABOUT_NUMBER = re.compile(
    r"订单号?码?|单号|编号|号码|单子|这单|那单|哦|噢|喔|啊|呀|哎|唉|嗯|抱歉|不好意思|对不起|"
    r"我的?|是|的|了|刚才|之前|上面|前面|这个|那个"
)
# "订单号打错了，应该是20260019": the booking number's digits without its "TR".
_BOOKING_DIGITS = re.compile(r"(?<!\d)(\d{8})(?!\d)")


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


def corrected_booking(tracker: Tracker) -> Optional[str]:
    """The booking number a correction outside a form gives instead of the one held ("不是这个单，
    是TR20260019", "sorry wrong number, it's TR20260019"); None when the message is no such
    correction or also tells what happened (that is a complaint, with this number)."""
    if (tracker.active_loop or {}).get("name"):
        return None  # a form's correction is the form's (action_correct_complaint, the reader)
    text = latest_text(tracker)
    reading = read(text)
    if not (_CORRECTION.search(reading.rest) or latest_intent(tracker) == "correct"):
        return None
    number = reading.booking_ref
    if not number and tracker.get_slot("booking_ref"):
        digits = _BOOKING_DIGITS.search(reading.rest)
        number = parse_booking_ref(f"TR{digits.group(1)}") if digits else None
    if not number:
        return None
    left = _ABOUT_NUMBER.sub("", _CORRECTION.sub("", reading.rest))
    return None if tells_a_story(left) else number


def _last_purpose(tracker: Tracker) -> str:
    """What the last verification was for (reset to None once done): a corrected number is
    verified for the same purpose."""
    for event in reversed(tracker.events or []):
        if event.get("event") == "slot" and event.get("name") == "verify_purpose" and event.get("value"):
            return str(event["value"])
    return "itinerary"


def verify_corrected(dispatcher: CollectingDispatcher, tracker: Tracker, number: str) -> List[EventType]:
    """The corrected number is verified (its own phone digits are asked unless the message gave
    them), then the question asked before is answered again for it."""
    dispatcher.utter_message(text=f"好的，改为订单 {number}。")
    purpose = _last_purpose(tracker)
    events: List[EventType] = [
        SlotSet("booking_ref", number),
        SlotSet("verify_purpose", purpose),
        SlotSet("verify_blocked", None),
        SlotSet("form_failures", 0.0),
    ]
    if not read(latest_text(tracker)).phone_last4:
        events.append(SlotSet("phone_last4", None))  # digits given belong to the old number
    if purpose == "itinerary":
        item, day = itinerary_slots(latest_text(tracker))
        asked = {"itinerary_item": item, "day_number": day} if item or day else last_question(tracker)
        events += [SlotSet(name, asked.get(name)) for name in ("itinerary_item", "day_number")]
    return events + [FollowupAction("verify_form")]


# "不想投诉", "我不是投诉啊", "没要投诉", "并不是要投诉": the word names what the traveller is NOT doing.
NOT_COMPLAINING = re.compile(
    r"(?:不(?:想|要|用|必|打算)|(?:并|也)?不是(?:要|想|来|在)?|没(?:有)?(?:要|想|在)?)(?:投诉|投訴)"
)
# "投诉 订单TR…", "投诉：导游…", "我投诉导游": the word leads the message; not "投诉进度", "投诉单号",
# "投诉流程", "投诉了三天没人理" (the progress of one made), "投诉怎么处理" (the process).
_LEADING_COMPLAINT = re.compile(
    r"^[\s，,。.！!]*(?:我|我们)?(?:投诉|投訴)(?![进单流程了过的电话热线怎多号结处有])"
)


def wants_to_complain(text: str) -> bool:
    """ "我要投诉，我手机号…，我叫陈静", "投诉 订单TR…": the wish in words, whatever the NLU made of
    the rest."""
    simple = to_simplified(text or "")
    said = WANTS_TO_COMPLAIN.search(simple) or _LEADING_COMPLAINT.search(simple)
    return bool(said) and not NOT_COMPLAINING.search(simple)


# The NLU's confidence above which a complaint is taken as one unless the words ask to see the trip.
SURE_COMPLAINT = 0.9

# Asking to see the trip: "想查行程", "查一下明天住哪", "我要看看行程安排", "把行程发我".
_ASKS_TO_SEE = re.compile(
    r"(?:查|看|了解|知道|告诉我|发|问(?!题))[^，,。.！!？?]{0,8}?"
    r"(?:行程|安排|航班|酒店|住|集合|导游|领队|几点|哪|什么)"
)


def asks_for_the_trip(text: str) -> bool:
    """ "我的订单号TR2026004 想查行程", "我要查行程 手机号就是138…", "我不是投诉 就想看看行程":
    the traveller's own trip is asked, and nothing is complained of ("我不是投诉" is no complaint;
    "行程安排太差了" is one)."""
    from actions.itinerary import PLAN_WORDS  # itinerary -> reader -> router

    simple = to_simplified(text or "")
    if wants_to_complain(simple) or DISCONTENT.search(NOT_COMPLAINING.sub("", simple)):
        return False
    rest = read(simple).rest
    if not (PLAN_WORDS.search(rest) or any(itinerary_slots(rest))):
        return False
    return bool(_ASKS_TO_SEE.search(rest)) or is_question(rest)


def complaint_in(message: Optional[Dict[str, Any]]) -> Optional[str]:
    """The complaint a message about the trip makes beside its questions ("投诉 订单TR… 航班改了
    时间…要求补偿", "我要投诉导游态度差，另外想问下明天几点集合？"): the message without its
    question clauses, to start the complaint with; None when it makes none."""
    text = (message or {}).get("text") or ""
    story = text
    for clause in (message or {}).get("clauses") or []:
        story = story.replace(clause.get("text") or "\0", " ")
    story = re.sub(
        r"(?:另外|还有|顺便问一下|顺便问下|顺便|再问一下|以及)[\s，,。.；;!！]*$", "", story.strip()
    )
    story = story.strip(" ，,。.；;!！")
    simple = to_simplified(story)
    if wants_to_complain(simple):
        return story
    if DISCONTENT.search(NOT_COMPLAINING.sub("", simple)) and tells_a_story(simple):
        return story
    return None


def asks_the_trip(message: Optional[Dict[str, Any]]) -> bool:
    """The message asks about the trip in a question ("明天几点集合？"), beside anything else."""
    return any(any(itinerary_slots(q)) for q in trip_questions(message))


def trip_questions(message: Optional[Dict[str, Any]]) -> List[str]:
    """The questions of a message (its question clauses, or itself when it is one)."""
    text = (message or {}).get("text") or ""
    questions = [
        c.get("text") or "" for c in (message or {}).get("clauses") or [] if is_question(c.get("text") or "")
    ]
    if not questions and is_question(read(text).rest):
        questions = [text]
    return questions


_LEAD_WORDS = re.compile(r"^[\s，,。.！!~～、…啊呀吧哦嘛呢的了]+|^(?:我|我们)?(?:只是|就是|其实|是)?")


def not_complaining_but(text: str) -> Optional[str]:
    """ "我不是投诉啊 我要查行程", "没想投诉，就问问退款怎么算": inside a complaint, what the
    traveller says they want instead; None when the message says no such thing."""
    simple = to_simplified(text or "")
    said = NOT_COMPLAINING.search(simple)
    if not said:
        return None
    rest = simple[said.end() :]
    for _ in range(3):
        rest = _LEAD_WORDS.sub("", rest, count=1).strip()
    return rest or None


async def leave_the_complaint(
    dispatcher: CollectingDispatcher, tracker: Tracker
) -> Optional[List[EventType]]:
    """A complaint form asking while the traveller says it is no complaint and asks something
    else: the complaint is set aside (kept: "继续投诉" takes it up) and the question taken up.
    None when the form is not asking or the message says no such thing."""
    from actions.cancel import set_aside_for  # cancel -> verification -> ... -> router

    if (tracker.active_loop or {}).get("name") != "complaint_form":
        return None
    question = not_complaining_but(latest_text(tracker))
    if question is None:
        return None
    return await set_aside_for(dispatcher, tracker, question)


def trip_instead(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    """The verification for the itinerary a message asked for (the form names a booking number
    one digit short: "TR2026004少了一位"); the complaint values read from it are set back."""
    from actions.complaint import undo_read_now  # complaint -> router: imported when needed
    from actions.questions import verify_for_itinerary

    from actions.questions import clauses

    item, day = itinerary_slots(read(latest_text(tracker)).rest)
    # "我想问下退团怎么扣费顺便问下导游电话多少": the same verification gives this booking's amount.
    refund = any(c.get("response_key") == "policy/refund" for c in clauses(tracker))
    after = [SlotSet("refund_after_verify", True)] if refund else []
    return undo_read_now(tracker) + after + verify_for_itinerary(item, day)


# A topic named alone ("退款", "发票？"), which the NLU may not place: its policy answer. Not "退团"
# (a trip cancellation) and not inside a form (it may be an answer there).
_BARE_TOPICS = {
    "退款": "policy/refund", "退钱": "policy/refund", "改期": "policy/change", "改签": "policy/change",
    "换人": "policy/change", "行李": "policy/baggage", "托运": "policy/baggage", "签证": "policy/visa",
    "保险": "policy/insurance", "发票": "policy/invoice", "开发票": "policy/invoice",
    "延误": "policy/delay", "航班延误": "policy/delay", "投诉流程": "policy/complaint_process",
}  # fmt: skip
_FILLER = re.compile(r"[\W_]+|[呢啊吧呀吗嘛哦]|请问|问下|问一下|咨询")


def bare_topic(tracker: Tracker) -> Optional[str]:
    if tracker.active_loop:
        return None
    return _BARE_TOPICS.get(_FILLER.sub("", to_simplified(latest_text(tracker))))


def route(dispatcher: CollectingDispatcher, tracker: Tracker) -> Optional[List[EventType]]:
    """Where a corrected booking number, a story, a new booking, a follow-up to the policy answer
    just given or a question about the traveller's own trip goes; None when the message is none
    of them."""
    text = latest_text(tracker)
    number = corrected_booking(tracker)
    if number:
        return verify_corrected(dispatcher, tracker, number)
    topic = bare_topic(tracker)
    if topic:
        dispatcher.utter_message(response=f"utter_{topic}")
        if topic == "policy/refund":
            dispatcher.utter_message(response="utter_refund_offer_compute")
        return []
    person = for_a_person(dispatcher, tracker)
    if person is not None:
        return person
    if wants_to_complain(text):
        return start_complaint(dispatcher, tracker)
    # "空调坏了 想换一间房", "景区门票包含吗": answered where it is settled.
    if answer_our_line(dispatcher, text) or answer_not_covered(dispatcher, text):
        return [FollowupAction("action_listen")]
    if not tracker.active_loop and asks_for_the_trip(text):
        # "我的订单号TR2026004 想查行程" reads as a story (six characters, no question mark): the
        # trip is asked, never a complaint.
        own = own_business(tracker)
        return own if own is not None else trip_instead(dispatcher, tracker)
    if tells_a_story(text):
        return start_complaint(dispatcher, tracker)
    if is_new_booking(text):
        dispatcher.utter_message(response="utter_out_of_scope_booking", sales_line=get_settings().sales_line)
        return []
    followed_up = answer_follow_up(dispatcher, tracker)
    if followed_up is not None:
        return followed_up
    routed = answer_to_refund_offer(tracker) or own_business(tracker)
    if routed is None and not tracker.active_loop and ACKNOWLEDGED.match(to_simplified(text)):
        # "好的" right after the greeting (or any answer): nothing to do yet, so what they want.
        dispatcher.utter_message(response="utter_ask_what_for")
        # Read as `affirm`, no rule follows (action_default_fallback): wait for the traveller.
        return [FollowupAction("action_listen")]
    return routed


# "好的", "嗯嗯", "ok", "知道了": an acknowledgement that asks nothing.
ACKNOWLEDGED = re.compile(
    r"^\s*(?:好的?|好吧|好嘞|好滴|嗯+|哦+|噢+|喔+|行|行吧|可以|ok|okay|收到|知道了|明白了?|了解了?)"
    r"(?:的|啊|呀|哈|嗯)*[\s，,。.!！~～]*$",
    re.I,
)

# Policy answers that end in a request a person carries out (the invoice is issued by our finance
# staff, a change of date or traveller is confirmed and priced by a specialist): what the
# traveller still has to give, said when the booking number comes right after them.
_PERSON_JOBS = {
    "policy/invoice": (
        "开发票",
        "还需要：发票抬头、纳税人识别号（单位抬头必填）和接收发票的邮箱，请直接发在这里",
    ),
    "policy/change": ("改期/换人", "请在这里补充想改到的日期或新旅客的姓名，费用由专员确认后告诉您"),
}


def for_a_person(dispatcher: CollectingDispatcher, tracker: Tracker) -> Optional[List[EventType]]:
    """The booking number given right after the invoice (or change) answer, which asks for it to
    apply: it is for that request, not an itinerary to show. The assistant cannot issue an
    invoice or price a change, so the request goes to a person (the queue keeps the conversation
    and what the traveller adds); None when the message is no such answer."""
    from actions.questions import last_policy_key

    reading = read(latest_text(tracker))
    if tracker.active_loop or not reading.booking_ref:
        return None
    job = _PERSON_JOBS.get(last_policy_key(tracker) or "")
    if job is None or is_question(reading.rest) or tells_a_story(reading.rest):
        return None
    what, still = job
    dispatcher.utter_message(
        text=f"收到，订单 {reading.booking_ref} 的{what}申请需要人工客服办理，我这就为您转接。"
        f"{still}，客服都能看到。"
    )
    return [SlotSet("booking_ref", reading.booking_ref), FollowupAction("action_request_human")]


def misread_as_complaint(dispatcher: CollectingDispatcher, tracker: Tracker) -> Optional[List[EventType]]:
    """A question the NLU read as a complaint that is none: a follow-up to the policy answer just
    given ("电子的行不行" after the invoice answer: that answer), or a verified traveller's question
    about the trip ("今天的晚餐含在团费里吗": the booking's meals; "东京那间酒店叫啥名"). For the
    complaint's start to call before it opens the form; None for a real complaint ("晚餐太差了",
    "我要投诉导游")."""
    followed_up = answer_follow_up(dispatcher, tracker)
    if followed_up is not None:
        return followed_up
    text = latest_text(tracker)
    if answer_our_line(dispatcher, text):
        return []  # "你们有没有客服电话？我要直接打电话" read as a complaint: the line (s6 H03 replay)
    if tracker.get_slot("verified_booking") and (asks_about_meals(text) or asks_about_the_trip(text)):
        return own_business(tracker)
    intent = (tracker.latest_message or {}).get("intent") or {}
    sure = intent.get("name") == "complain" and (intent.get("confidence") or 0) >= SURE_COMPLAINT
    # A sure complaint asks about the trip only in words that ask to see it: "你们这是什么破团啊！！
    # 说好的洱海骑行直接取消了" has a question word and a part of the trip, and asks nothing.
    if asks_for_the_trip(text) and not (sure and not _ASKS_TO_SEE.search(to_simplified(text))):
        # "我的订单号TR2026004 想查行程", "我要查行程 手机号…名字张伟": the trip, not a complaint.
        return trip_instead(dispatcher, tracker)
    return None


def asks_about_the_trip(text: str) -> bool:
    """ "东京那间酒店叫啥名" from a verified traveller: a question about a part of the trip, not a
    complaint about it ("酒店太差了吧？" is one)."""
    return is_question(text) and any(itinerary_slots(text)) and not DISCONTENT.search(to_simplified(text))


def answer_to_refund_offer(tracker: Tracker) -> Optional[List[EventType]]:
    """The booking number or phone digits given right after the offer to compute the amount
    ("如需计算…请告诉我订单号和手机尾号后四位"): the verification they start is for that amount
    (verification_purpose), not the itinerary a bare number otherwise asks for."""
    reading = read(latest_text(tracker))
    if tracker.active_loop or not (reading.booking_ref or reading.phone_last4):
        return None
    if verification_purpose(tracker) != "refund":
        return None
    return [
        SlotSet("verify_purpose", "refund"),
        SlotSet("verify_blocked", None),
        SlotSet("form_failures", 0.0),
        FollowupAction("verify_form"),
    ]


class ActionRouteMessage(Action):
    def name(self) -> Text:
        return "action_route_message"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        from actions.tickets import hand_over_by_phone  # tickets -> ... -> router

        handed = await hand_over_by_phone(dispatcher, tracker)
        if handed is not None:
            return handed  # a full phone number after "no number? a person can find it"
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
            from actions.verification import number_slip  # verification -> ... -> router

            text = latest_text(tracker)
            # "TR2026001": a booking number one digit short is named so, not "what do you want?"
            slip = number_slip("booking", text) or number_slip("ticket", text)
            if slip:
                dispatcher.utter_message(text=slip)
            else:
                dispatcher.utter_message(response="utter_ask_what_for")
        return []
