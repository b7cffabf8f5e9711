"""What the assistant is for: capabilities, and a polite no to everything else."""

from __future__ import annotations

import re
from typing import List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.fields import (
    BY_SLOT,
    MAX_DESCRIPTION_CHARS,
    MAX_REQUEST_TEXT_CHARS,
    MAX_WHEN_WHERE_CHARS,
    REQUEST_TEXT_SLOT,
)
from actions.forms.base import latest_text
from actions.questions import (
    MIN_CLAUSE_CONFIDENCE,
    answer_beside_off_topic,
    answer_extra_questions,
    answer_follow_up,
    answer_not_covered,
    clauses,
    to_the_trip,
)
from actions.settings import get_settings
from actions.utils.parsing import to_simplified
from actions.utils.reading import is_question, read, request_code

# A new trip is the sales team's: a booking verb before a travel object in the same clause
# ("能订机票吗", "帮我买张火车票", "想报名新的旅游团", "book me a hotel"). Not the verb's past or
# possessive or done ("我订的酒店", "买了的票", "订好了"): that is the traveller's own booking;
# nor 订单, nor changing or cancelling one (改订, 退订, 取消预订: the change and refund policies),
# nor a story of what was not booked ("导游没订接机").
_BOOK_VERB = (
    r"(?<!取消)(?<![改退没未])(?:预订|预定|预约|订购|购买|订|买|报名|报(?=个|一|团))"
    r"(?![的了过单好到上完错])"
)
_TRAVEL_OBJECT = (
    r"(?:飞机票|机票|航班|酒店|宾馆|民宿|客栈|住宿|房间|火车票|高铁|动车|车票|船票|门票|签证"
    r"|旅游团|旅行团|团|线路|路线|行程|自由行|度假|票|接机|送机|包车|租车|专车|商务车)"
)
_NEW_BOOKING = re.compile(
    rf"{_BOOK_VERB}[^，。！？；,.!?;]{{0,10}}?{_TRAVEL_OBJECT}"
    r"|(?:新订|想订|要订|帮我订|想预订|报名)(?![的了过单])"
    r"|\b(?:book|reserve|buy)\b[^.?!]{0,20}?\b(?:flights?|hotels?|rooms?|tickets?|tours?|trips?)\b"
    r"|推荐.{0,8}(团|线路|路线|行程)|有没有.{0,10}(团|线路)|想去.{0,8}(玩|旅游|旅行)|报价",
    re.I,
)
MISUNDERSTOOD = {"nlu_fallback", "out_of_scope"}
# "你们公司电话多少", "客服热线是几号", "怎么联系你们": our own service line is asked, not the
# number of someone on the trip (the guide's is in the booking).
_OUR_LINE = re.compile(
    r"(?:你们|贵公司|公司|客服|旅行社|官方|售后|人工|总部|门店)\S{0,6}?(?:电话|热线|号码|联系方式|座机)"
    r"|(?:怎么|如何|怎样)(?:联系|找到?)(?:你们|客服|人工|旅行社)"
)
# "给我个客服电话 我自己打": asked for without a question mark.
_WANTS_LINE = re.compile(r"给我|发我|告诉我|留个|直接打|自己打|打过去|打给")
# "客服电话一直打不通": a complaint about the line, not a request for it.
_LINE_FAILED = re.compile(r"打不通|没人接|不接|占线|投诉")
_SOMEONE_ELSE = re.compile(r"导游|领队|司机|酒店|航空|使馆|领事馆|警察|医院|地接")


def answer_our_line(dispatcher: CollectingDispatcher, text: str) -> bool:
    """Our service and sales lines, when the message asks for them; False when it does not."""
    simple = to_simplified(text or "")
    asked = is_question(simple) or _WANTS_LINE.search(simple)
    if (
        not (_OUR_LINE.search(simple) and asked)
        or _SOMEONE_ELSE.search(simple)
        or _LINE_FAILED.search(simple)
    ):
        return False
    settings = get_settings()
    dispatcher.utter_message(
        text=f"我们的24小时客服热线是 {settings.emergency_line}（行程中遇到紧急情况也打这个电话）；"
        f"咨询或预订新的行程请拨销售热线 {settings.sales_line}。"
        "也可以直接在这里回复“转人工”，由人工客服为您处理。"
    )
    return True


def is_new_booking(text: str) -> bool:
    return bool(_NEW_BOOKING.search(to_simplified(text or "")))


NOT_UNDERSTOOD_REPLIES = {
    "utter_default",
    "utter_out_of_scope",
    "utter_out_of_scope_booking",
    "utter_offer_human",
}


def misunderstood_in_a_row(tracker: Tracker) -> int:
    """The latest message and the ones before it that were not understood: NLU said so
    (nlu_fallback, out_of_scope), or the dialogue did (the bot answered "没太明白")."""
    count, answered = 0, set()
    for event in reversed(tracker.events):
        if event.get("event") == "bot":
            answered.add((event.get("metadata") or {}).get("utter_action"))
        elif event.get("event") == "user":
            intent = (event.get("parse_data") or {}).get("intent", {}).get("name")
            latest = count == 0 and not answered
            # "多久能到" read as off-topic but answered as a follow-up to the policy answer before it.
            understood = any(str(name or "").startswith("utter_policy/") for name in answered)
            if understood or not (intent in MISUNDERSTOOD or latest or answered & NOT_UNDERSTOOD_REPLIES):
                break
            count += 1
            answered = set()
    return count


# The complaint questions answered in the traveller's own words: whatever they say there reads
# "off-topic" to the NLU often ("就这两个月 每天好几个电话", "查清楚是谁泄露的，给我个说法").
_STORY_SLOTS = {
    "complaint_description": MAX_DESCRIPTION_CHARS,
    "complaint_when_where": MAX_WHEN_WHERE_CHARS,
    "complaint_request": MAX_REQUEST_TEXT_CHARS,
}
# Question words that ask us nothing: an indefinite number ("好几个电话", "十几天", "几百块") and
# what the traveller wants found out ("查清楚是谁泄露的", "不知道是谁拿的"). The shared QUESTION
# pattern (servicekit) reads both as questions.
_NOT_ASKING = re.compile(
    r"好几|十几|几十|几百|几千|几万"
    r"|(?:(?:查|问|弄|搞|说|讲)(?:清楚|明白)|查明|追查|调查|核实|不知道|不清楚|不晓得)(?:一下)?(?:到底)?是?"
    r"(?:谁|什么|哪)"
)


def asks_a_question(text: str) -> bool:
    """The message asks something (is_question), not counting the question words above."""
    return is_question(_NOT_ASKING.sub("，", to_simplified(text or "")))


def story_answer(tracker: Tracker) -> List[EventType]:
    """The message as the answer to the complaint question asked, when that question is
    answered in free words and the message asks nothing. Set after this action, the values are
    what the complaint form, which runs next, validates (its checks see the trailing slot
    events), so a refused answer is said and asked again like any other. [] otherwise."""
    requested = tracker.get_slot("requested_slot")
    if (tracker.active_loop or {}).get("name") != "complaint_form" or requested not in _STORY_SLOTS:
        return []
    text = latest_text(tracker)
    rest = read(text).rest
    if not rest or asks_a_question(text) or is_new_booking(text):
        return []
    from actions.router import not_complaining_but  # router -> scope

    if not_complaining_but(text) is not None:
        return []  # "我不是投诉啊 我要查行程" answers nothing the complaint asked
    if requested == "complaint_request":
        return [
            SlotSet("complaint_request", request_code(rest) or "other"),
            SlotSet(REQUEST_TEXT_SLOT, rest[: _STORY_SLOTS[requested]]),
        ]
    return [SlotSet(requested, rest[: _STORY_SLOTS[requested]])]


# What the reader may take from a message while a form asks: a field, the digits, a ticket number.
_VALUE_SLOTS = frozenset(BY_SLOT) | {"phone_last4", "ticket_no"}


def values_taken(tracker: Tracker) -> List[str]:
    """The value slots the reader filled from the latest message (the slot events after it)."""
    return [name for name, value in tracker.slots_to_validate().items() if name in _VALUE_SLOTS and value]


def _own_business(tracker: Tracker) -> Optional[List[EventType]]:
    # Imported here: actions.itinerary -> reader -> handoff -> scope would be a cycle.
    from actions.itinerary import own_business

    return own_business(tracker)


def _keep_to_the_amount(dispatcher: CollectingDispatcher, tracker: Tracker) -> Optional[List[EventType]]:
    # Imported here: actions.refunds -> handoff -> scope would be a cycle.
    from actions.refunds import keep_to_the_amount

    return keep_to_the_amount(dispatcher, tracker)


class ActionOutOfScope(Action):
    def name(self) -> Text:
        return "action_out_of_scope"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        from actions.router import leave_the_complaint  # router -> scope
        from actions.tickets import answer_ticket_follow_up, no_booking_number_in_verification

        followed = await answer_ticket_follow_up(dispatcher, tracker)
        if followed is not None:
            return followed  # "那预计什么时候完成" right after the ticket's progress
        helped = no_booking_number_in_verification(dispatcher, tracker)
        if helped is not None:
            return helped  # "是朋友帮我报的名 我没有订单号" while the booking number is asked
        left = await leave_the_complaint(dispatcher, tracker)
        if left is not None:
            return left  # "我不是投诉啊 我要查行程": not an answer to the complaint's question
        answer = story_answer(tracker)
        if answer:
            return answer  # nothing said: the complaint form takes it as the answer and goes on
        if tracker.active_loop and values_taken(tracker) and not asks_a_question(latest_text(tracker)):
            return []  # "陳大文" while the booking number is asked: the name is kept, the form asks on
        amount_only = _keep_to_the_amount(dispatcher, tracker)
        if amount_only is not None:
            return amount_only  # "我只是先了解一下" while a cancellation is verified
        if answer_not_covered(dispatcher, latest_text(tracker)):
            # "隔壁太吵 能换个房吗", "进景点要另外买票吗" (not a ticket to sell): where it is settled,
            # or what the contract says.
            pass
        elif is_new_booking(latest_text(tracker)):
            dispatcher.utter_message(
                response="utter_out_of_scope_booking", sales_line=get_settings().sales_line
            )
        elif answer_our_line(dispatcher, latest_text(tracker)):
            pass  # "你们公司电话多少": ours to answer
        elif (followed_up := answer_follow_up(dispatcher, tracker)) is not None:
            return followed_up  # "要什么材料" right after the delay answer: that answer's topic
        elif (followup := _own_business(tracker)) is not None:
            return followup
        elif await answer_beside_off_topic(dispatcher, tracker):
            pass  # "今天大理天气怎么样？顺便问下能开发票吗": our question answered, the rest declined
        else:
            dispatcher.utter_message(response="utter_out_of_scope")
        if misunderstood_in_a_row(tracker) >= 2 and not tracker.active_loop:
            dispatcher.utter_message(response="utter_offer_human")
        return []


# "你好笨啊", "什么破机器人": said to the bot, it deserves an apology before anything else.
_INSULT = re.compile(
    r"笨|蠢|傻|垃圾|废物|没用|智障|弱智|脑残|听不懂|答非所问|破机器人|什么玩意|stupid|useless", re.I
)
# "你是机器人吗" beside "你能干嘛" (read as the capabilities question).
_ASKS_BOT = re.compile(r"机器人|真人|人工智能|\b(?:AI|bot|robot)\b", re.I)
# "你能干嘛" beside "你是机器人吗": the clause reader may leave a short message whole.
_ASKS_CAPABILITIES = re.compile(
    r"能干(?:嘛|啥|什么)|能做(?:些)?(?:什么|啥)|会(?:干)?(?:什么|啥|嘛)|有(?:什么|哪些)功能"
    r"|能帮(?:我|忙)?(?:做|干)?(?:什么|啥)"
)


class ActionCapabilities(Action):
    """What the assistant can do, then the other questions of the message ("你都有哪些功能？能帮我
    订机票吗": the sales line too), as after any answer."""

    def name(self) -> Text:
        return "action_capabilities"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        # "什么时候能落地" from a verified traveller, read as "what can you do": their flight.
        trip = to_the_trip(tracker)
        if trip is not None:
            return trip
        if _ASKS_BOT.search(to_simplified(latest_text(tracker))):
            dispatcher.utter_message(text="我是旅行社的智能客服助手（机器人）。")  # "你是机器人吗？你能干嘛"
        dispatcher.utter_message(response="utter_capabilities")
        return await answer_extra_questions(dispatcher, tracker, primary_key=None)


class ActionBotChallenge(Action):
    """ "你是机器人吗": yes, and what else the message holds. "你是机器人吗？你能干嘛" gets the
    services too; "你好笨啊" an apology and a person; "酒店叫什么名字" from a verified traveller,
    read as "what is your name", is their hotel."""

    def name(self) -> Text:
        return "action_bot_challenge"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        trip = _own_business(tracker)
        if trip is not None:
            return trip
        text = to_simplified(latest_text(tracker))
        if _INSULT.search(text):
            dispatcher.utter_message(
                text="抱歉，没能理解好您的意思，让您着急了。我是旅行社的智能客服助手（机器人），您可以换个说法再说一次，也可以直接找人工客服。"
            )
            dispatcher.utter_message(response="utter_offer_human")
            return []
        dispatcher.utter_message(response="utter_iamabot")
        asks = _ASKS_CAPABILITIES.search(text) or any(
            c.get("intent") == "ask_capabilities" and (c.get("confidence") or 0) >= MIN_CLAUSE_CONFIDENCE
            for c in clauses(tracker)
        )
        if asks:
            dispatcher.utter_message(response="utter_capabilities")
        return await answer_extra_questions(dispatcher, tracker, primary_key=None)


class ActionGoodbye(Action):
    """Goodbye, unless the message is a follow-up question read as one ("那出境呢" after the
    refund answer): that topic's answer."""

    def name(self) -> Text:
        return "action_goodbye"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        if is_question(to_simplified(latest_text(tracker))):
            followed = answer_follow_up(dispatcher, tracker)
            if followed is not None:
                return followed
        dispatcher.utter_message(response="utter_goodbye")
        return []
