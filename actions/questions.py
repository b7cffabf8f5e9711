"""Policy answers, one per question the traveller asked in the message.

The NLU pipeline splits a message into clauses and classifies each one
(`bot/components/clauses.py`, parse data key `clauses`), so "能开发票吗？另外行李限重多少"
gets both answers. Refund questions about the traveller's own booking get the amount
for that booking (`actions/refunds.py`).
"""

from __future__ import annotations

import re
from typing import Any, Dict, Iterable, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.utils.parsing import to_simplified
from actions.utils.reading import is_question

REFUND_KEY = "policy/refund"
MIN_CLAUSE_CONFIDENCE = 0.6

# A follow-up to the policy answer just given ("要什么材料" after the delay answer, "电子的行不行"
# after the invoice one) is a short question that names no topic of its own. The NLU reads such
# fragments as anything (out_of_scope, complain, ask_capabilities, policy with an unsure key), so
# what decides is the message, not the intent, except where the NLU is sure it is something else.
FOLLOW_UP_MAX_CHARS = 12
# Sure of its own reading: a new policy topic ("签证要多久" 0.99; "需要啥证明" after the delay
# answer reads visa at 0.58), or off-topic ("今天天气怎么样" 0.91; the fragments below 0.5).
SURE_SELECTOR = 0.8
SURE_OFF_TOPIC = 0.6
# Intents that a follow-up fragment is misread as; any other (request_human, emergency, cancel,
# thank, a booking lookup…) has its own flow.
# goodbye: "那出境呢" after the refund answer was read as one (actions/scope.py ActionGoodbye).
_FOLLOW_UP_READS = {
    "policy",
    "out_of_scope",
    "nlu_fallback",
    "inform",
    "complain",
    "ask_capabilities",
    "goodbye",
}
# Only a message about meals is handed to the itinerary (its own_business decides the rest).
MEAL_TOPIC = re.compile(r"餐|饭|吃")
# A flight or train late or cancelled: when it arrives is the delay policy's question.
_DISRUPTED = re.compile(r"延误|晚点|取消|停飞|停运|改签")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def retrieval_key(tracker: Tracker) -> Optional[Text]:
    """'policy/refund' as chosen by the ResponseSelector for the latest message."""
    selector = (tracker.latest_message or {}).get("response_selector", {})
    return selector.get("policy", {}).get("response", {}).get("intent_response_key")


def last_policy_key(tracker: Tracker) -> Optional[Text]:
    """The policy topic of the bot's reply to the message before this one ('policy/delay'); the
    last one said when it answered several."""
    from actions.forms.base import previous_reply_actions

    keys = [a[len("utter_") :] for a in previous_reply_actions(tracker) if a.startswith("utter_policy/")]
    return keys[-1] if keys else None


def follow_up_key(tracker: Tracker) -> Optional[Text]:
    """The topic of the policy answer just given, when this message is a follow-up question to
    it ("要什么材料", "电子的行不行", "那要多久"); None when it is its own business: a form asks, it
    gives a number, names a part of the trip, a meal or a new booking, complains, or the NLU is
    sure it is another topic or off-topic."""
    from actions.reader import itinerary_queries  # reader -> questions: imported when needed
    from actions.scope import is_new_booking  # scope -> questions
    from actions.utils.reading import read
    from actions.utils.text import DISCONTENT, MEAL_QUESTION

    from actions.refunds import days_asked  # refunds -> questions

    key = last_policy_key(tracker)
    if not key or tracker.active_loop:
        return None
    latest = tracker.latest_message or {}
    text = to_simplified(latest.get("text") or "")
    if (
        key == REFUND_KEY
        and days_asked(text) is not None
        and is_question(text)
        and not read(text).booking_ref
    ):
        # "出发前10天呢" after the refund table asks its line, whatever the NLU made of it (a day
        # of the trip, query_itinerary; not understood).
        return key
    from actions.policy import specific_follow_up  # policy -> questions

    # "日本的" after the visa answer, "要什么材料" after the delay one: a part of that topic.
    specific = specific_follow_up(key, text)
    reading = read(text)
    if (
        not (is_question(text) or specific)
        or len(_CJK.findall(reading.rest)) > FOLLOW_UP_MAX_CHARS
        or reading.booking_ref
        or reading.ticket_no
        or DISCONTENT.search(text)
        or MEAL_QUESTION.search(text)
        or is_new_booking(text)
        or any(item or day for item, day in itinerary_queries(text))
    ):
        return None
    intent = latest.get("intent") or {}
    name, confidence = intent.get("name"), intent.get("confidence") or 0
    if name not in _FOLLOW_UP_READS:
        return None
    if name == "out_of_scope" and confidence >= SURE_OFF_TOPIC and not specific:
        return None
    if name == "policy":
        selector = latest.get("response_selector", {}).get("policy", {}).get("response", {})
        if retrieval_key(tracker) not in (None, key) and (selector.get("confidence") or 0) >= SURE_SELECTOR:
            return None  # "签证要多久" after the invoice answer: a new topic
    return key


def answer_follow_up(dispatcher: CollectingDispatcher, tracker: Tracker) -> Optional[List[EventType]]:
    """The answer of the topic a follow-up question is about (follow_up_key), the general one
    (a follow-up to the refund answer gets no computation); None when the message is none."""
    from actions.refunds import answer_bracket  # refunds -> questions

    from actions.policy import answer_specific_follow_up  # policy -> questions

    key = follow_up_key(tracker)
    if not key:
        return None
    if answer_specific_follow_up(dispatcher, tracker, key):
        return []  # "要什么材料" after the delay answer: the materials, not the answer again
    if key == REFUND_KEY and answer_bracket(dispatcher, tracker):
        return []  # "出发前10天呢": the line of the table for those days, not the table again
    dispatcher.utter_message(response=f"utter_{key}")
    return []


def story_beside_questions(tracker: Tracker) -> str:
    """The message without its question clauses: "航班延误了三个小时没人通知，我要投诉！" of
    "航班延误了三个小时没人通知，我要投诉！另外延误了能赔吗"."""
    text = (tracker.latest_message or {}).get("text") or ""
    for clause in clauses(tracker):
        text = text.replace(clause.get("text") or "\0", " ")
    return re.sub(
        r"(?:另外|还有|顺便问一下|顺便问下|顺便|再问一下|以及)\s*$", "", text.strip(" ，,。.；;!！")
    ).strip(" ，,。.；;!！")


def verify_for_itinerary(item: Optional[str], day: Optional[str]) -> List[EventType]:
    """The verification form, started for an itinerary question (its item and day kept)."""
    return [
        SlotSet("verify_purpose", "itinerary"),
        SlotSet("verify_blocked", None),
        SlotSet("form_failures", 0.0),
        SlotSet("itinerary_item", item),
        SlotSet("day_number", day),
        FollowupAction("verify_form"),
    ]


def clauses(tracker: Tracker) -> List[Dict[str, Any]]:
    return list((tracker.latest_message or {}).get("clauses") or [])


def asks(clause: Dict[str, Any]) -> bool:
    """A question clause: a question word, or announced ("我想问下退团的事": the NLU marks it)."""
    return bool(clause.get("announced")) or is_question(clause.get("text") or "")


def asks_the_record(text: str) -> bool:
    """ "我订了几个人", "付了多少钱": a question the booking record answers, not a policy."""
    from actions.reader import RECORD_ITEMS, itinerary_queries  # reader -> questions

    return any(item in RECORD_ITEMS for item, _ in itinerary_queries(text))


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
            and asks(clause)
            and not _NOT_COVERED.search(to_simplified(clause.get("text") or ""))
            and not asks_the_record(clause.get("text") or "")
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
    events += await answer_itinerary_clauses(dispatcher, tracker)
    decline_off_topic_clauses(dispatcher, tracker)
    return events


def decline_off_topic_clauses(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """ "今天大理天气怎么样？顺便问下能开发票吗": the invoice answer alone reads as if the first
    question went unseen. Say, once and briefly, which question is not ours to answer; True
    when it was said."""
    from actions.reader import itinerary_queries  # reader -> questions: imported when needed

    # "导游叫什么，电话多少": a short fragment beside a question about the trip is part of it.
    about_the_trip = any(
        item and item != "recommend"
        for item, _ in itinerary_queries((tracker.latest_message or {}).get("text") or "")
    )
    asked = [
        (c.get("text") or "").strip(" ，,。.？?！!")
        for c in clauses(tracker)
        if c.get("intent") == "out_of_scope"
        and (c.get("confidence") or 0) >= MIN_CLAUSE_CONFIDENCE
        and is_question(c.get("text") or "")
        and not (about_the_trip and len((c.get("text") or "").strip(" ，,。.？?！!")) <= 6)
        and not _part_of_the_answer(dispatcher, c)
        and not _answered_from_booking(dispatcher, c.get("text") or "")
    ]
    from actions.scope import is_new_booking  # scope -> questions: imported when needed
    from actions.settings import get_settings

    bookings = [text for text in asked if is_new_booking(text)]
    asked = [text for text in asked if not is_new_booking(text)]
    if asked:
        quoted = "」「".join(text if len(text) <= 20 else text[:20] + "…" for text in asked)
        dispatcher.utter_message(text=f"另外，「{quoted}」不在我的服务范围内，这个我没法回答。")
    if bookings:
        # "能帮我订机票吗" beside another question: where to go instead, as when asked alone.
        line = get_settings().sales_line
        said = f"另外，预订新的机票、酒店或旅游团请拨打销售热线 {line}，顾问会为您推荐和报价。"
        dispatcher.utter_message(text=said)
    return bool(asked or bookings)


def _part_of_the_answer(dispatcher: CollectingDispatcher, clause: Dict[str, Any]) -> bool:
    """ "意外险怎么理赔 需要什么材料": a short fragment the NLU is unsure of, beside a policy answer
    given in this turn, asks more of that answer (it lists the materials), not something else."""
    answered = any(str(m.get("response") or "").startswith("utter_policy/") for m in dispatcher.messages)
    short = len(_CJK.findall(clause.get("text") or "")) <= FOLLOW_UP_MAX_CHARS - 4
    return answered and short and (clause.get("confidence") or 0) < SURE_SELECTOR


def _answered_from_booking(dispatcher: CollectingDispatcher, text: str) -> bool:
    """Every item of `text` ("付了多少钱") was already answered from the booking in this turn."""
    from actions.reader import itinerary_queries
    from actions.utils.text import ANSWER_MARKS

    said = "\n".join(m.get("text") or "" for m in dispatcher.messages)
    items = {item for item, _ in itinerary_queries(text) if item}
    return bool(items) and all(item in ANSWER_MARKS and ANSWER_MARKS[item] in said for item in items)


def to_the_record(tracker: Tracker) -> Optional[List[EventType]]:
    """ "TR20260010 6781 我订了几个人，付了多少钱" read as a policy question: no policy asked
    beside ("改期要交多少钱" is one), so the booking answers it, after verification (the
    verification form asks for what is missing). None when the message asks no such thing."""
    from actions.reader import itinerary_slots

    text = (tracker.latest_message or {}).get("text") or ""
    if tracker.active_loop or not asks_the_record(text):
        return None
    own_policy = any(
        c.get("intent") == "policy"
        and (c.get("confidence") or 0) >= MIN_CLAUSE_CONFIDENCE
        and is_question(c.get("text") or "")
        and not asks_the_record(c.get("text") or "")
        for c in clauses(tracker)
    )
    if own_policy:
        return None
    item, day = itinerary_slots(text)
    message_id = (tracker.latest_message or {}).get("message_id")
    # The verification form answers side questions of the message it runs on: none here.
    answered = [SlotSet("answered_message_id", message_id)] if message_id else []
    return answered + verify_for_itinerary(item, day)


def to_the_trip(tracker: Tracker) -> Optional[List[EventType]]:
    """A question about the verified trip read as a policy or as "what can you do": the booking
    answers it (itinerary.own_business). "要提前多久到" after the meeting point (read as the
    invoice rules, sure), "什么时候能落地" (read as the capabilities); "餐费包含吗" read as a policy
    the selector is unsure of (insurance, 0.51). None otherwise: "航班延误了管饭吗" is the delay
    policy, read sure, and "航班延误了什么时候能到" asks the delay policy, not the timetable."""
    from actions.itinerary import own_business  # itinerary -> reader -> questions
    from actions.utils.text import asks_arrival_time, asks_when_to_arrive

    if not tracker.get_slot("verified_booking"):
        return None
    latest = tracker.latest_message or {}
    text = to_simplified(latest.get("text") or "")
    if (asks_when_to_arrive(text) or asks_arrival_time(text)) and not _DISRUPTED.search(text):
        return own_business(tracker)
    selector = latest.get("response_selector", {}).get("policy", {}).get("response", {})
    if (selector.get("confidence") or 0) >= SURE_SELECTOR:
        return None
    return own_business(tracker) if MEAL_TOPIC.search(text) else None


async def answer_beside_off_topic(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """A message read as off-topic as a whole that still asks one of our policy questions in a
    clause: that question is answered, and the rest declined by name. False when it asks none."""
    keys = extra_policy_keys(tracker, [])
    if not keys:
        return False
    for key in keys:
        await answer_key(dispatcher, tracker, key, extra=True)
    if not decline_off_topic_clauses(dispatcher, tracker):
        dispatcher.utter_message(text="您消息里的其他问题不在我的服务范围内，这部分我没法回答。")
    return True


async def answer_itinerary_clauses(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    """ "回来坐哪个航班？行李可以托运几件": the itinerary clause of a policy question, for a
    traveller already verified in this conversation."""
    from actions.clients.ticketing import TicketingError, get_client
    from actions.reader import itinerary_queries
    from actions.utils.refund import china_today
    from actions.utils.text import itinerary_answers, with_meals

    if (tracker.latest_message or {}).get("intent", {}).get("name") == "query_itinerary":
        return []  # the flow itself answers it
    wanted = [
        c
        for c in clauses(tracker)
        if c.get("intent") == "query_itinerary" and (c.get("confidence") or 0) >= MIN_CLAUSE_CONFIDENCE
    ]
    verified = tracker.get_slot("verified_booking")
    if not wanted or not verified:
        return []
    try:
        booking = await get_client().get_booking(
            verified, tracker.get_slot("verify_grant"), tracker.sender_id
        )
    except TicketingError:
        return []
    for clause in wanted:
        # Every item of the clause, its relative days ("明天几点集合") by China's date.
        if _answered_from_booking(dispatcher, clause.get("text") or ""):
            continue  # the flow that verified answered it already
        queries = with_meals(itinerary_queries(clause.get("text") or ""), [clause.get("text") or ""])
        for text in itinerary_answers(booking, queries, china_today()):
            dispatcher.utter_message(text=text)
    return []


async def answer_side_questions(
    dispatcher: CollectingDispatcher, tracker: Tracker, primary: bool
) -> List[EventType]:
    """Once per message: the questions a message asks beside the flow it starts or continues
    (and, with `primary`, its own policy question: a form that took a value from the same
    message goes on, so nothing else would answer it)."""
    message_id = (tracker.latest_message or {}).get("message_id")
    if not message_id or tracker.get_slot("answered_message_id") == message_id:
        return []
    said = len(dispatcher.messages)
    if (
        primary
        and (tracker.latest_message or {}).get("intent", {}).get("name") == "policy"
        and is_question((tracker.latest_message or {}).get("text") or "")
    ):
        events = await answer_policy_question(dispatcher, tracker)
    else:
        events = await answer_extra_questions(dispatcher, tracker, primary_key=None)
    if len(dispatcher.messages) == said:
        return []  # nothing asked beside: no event, so a form can still reject the message
    return [e for e in events if not _is_followup(e) and e.get("name") != "answered_message_id"] + [
        SlotSet("answered_message_id", message_id)
    ]


def _in_place(tracker: Tracker, key: str, asked: List[str]) -> List[str]:
    """The whole message's answer among the sure clauses' answers, where its question was asked:
    at its own clause when one was read as it (below the clause threshold), else at the first
    question clause no sure answer covers ("签证要多久？行李能带多重" read as baggage as a whole,
    its baggage clause unsure: visa, then baggage)."""
    questions = [c for c in clauses(tracker) if c.get("intent") == "policy" and asks(c)]
    place = next((i for i, c in enumerate(questions) if c.get("response_key") == key), None)
    if place is None:
        place = next((i for i, c in enumerate(questions) if c.get("response_key") not in asked), None)
    if place is None:
        return [key] + asked
    before = {c.get("response_key") for c in questions[:place]}
    cut = sum(1 for k in asked if k in before)
    return asked[:cut] + [key] + asked[cut:]


def _itinerary_outside_clauses(tracker: Tracker) -> List[EventType]:
    """ "明天集合时间 顺便问下能开发票吗": the words no clause took ask about the trip; after the
    policy answer, the verification asks for the booking (or, verified, answers) with that item
    and day kept. [] when the clauses took the whole message or the rest asks no such thing."""
    from actions.reader import itinerary_slots  # reader -> questions

    if tracker.active_loop or not clauses(tracker):
        return []
    from actions.utils.text import DISCONTENT

    rest = to_simplified(story_beside_questions(tracker))
    # "明天集合时间" asks; "我们的航班延误了" tells what happened beside the question.
    asks = is_question(rest) or (len(_CJK.findall(rest)) <= 8 and "了" not in rest)
    item, day = itinerary_slots(rest)
    if not item or not asks or DISCONTENT.search(rest):
        return []
    return verify_for_itinerary(item, day)


def _is_followup(event: EventType) -> bool:
    return event.get("event") == "followup"


async def answer_key(
    dispatcher: CollectingDispatcher, tracker: Tracker, key: str, extra: bool = False
) -> List[EventType]:
    from actions.refunds import answer_refund_question  # refunds needs this module too

    if key == REFUND_KEY:
        return await answer_refund_question(dispatcher, tracker, extra=extra)
    dispatcher.utter_message(response=f"utter_{key}")
    return []


# Questions no policy of ours answers, which the NLU reads as the nearest one (单房差 as the change
# policy, leaving luggage as the baggage allowance, an infant's ticket as the invoice, a hotel upgrade
# as the change policy): they depend on the product, so a person confirms (and quotes).
_NOT_COVERED = re.compile(
    r"单房差|单人房差|补房差|寄存行李|寄放行李|行李寄存|存放行李|单独安排.{0,3}车|单独派车|加床"
    r"|婴儿|宝宝.{0,4}(?:票|价|费)|儿童价|小孩.{0,4}(?:票|价)|宠物|轮椅"
    # what a child or an extra bed costs is the product's price list ("小孩不占床怎么收费", s7)
    r"|占床|(?:小孩|儿童|孩子).{0,6}(?:怎么收费|收费标准|多少钱|半价)"
    r"|(?:酒店|房间?|房型|舱位?|座位?|套餐|住宿|标准).{0,6}升级|升级.{0,6}(?:酒店|房|舱|座|套餐|住宿|标准)"
    r"|升舱|换(?:个|成)?(?:好点|更好|高级|豪华)的?(?:酒店|房)"
    # how old may a traveller be: the product's terms and a health declaration decide
    r"|(?:岁|老人|老年人|高龄|年纪大|年龄|岁数).{0,8}(?:参团|报名|跟团|参加|能去|可以去|能不能去)"
    r"|(?:参团|报名|跟团).{0,6}(?:年龄|岁数)"
)
NOT_COVERED_TEXT = (
    "这个要看您报名的具体产品和行程安排，我这里没有统一的规定可以答复。请回复“转人工”，由人工客服为您确认；"
    "还没报名的也可以拨打销售热线 {line} 咨询。"
)


def not_covered_beside(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """ "老人家80岁可以参团吗 需要买什么保险": the insurance answer given, the clause no policy
    answers (read as the nearest policy or as none) is said so by name."""
    from actions.settings import get_settings

    asked = [
        (c.get("text") or "").strip(" ，,。.？?！!")
        for c in clauses(tracker)
        if _NOT_COVERED.search(to_simplified(c.get("text") or ""))
    ]
    if asked:
        quoted = "」「".join(t if len(t) <= 20 else t[:20] + "…" for t in asked)
        text = NOT_COVERED_TEXT.format(line=get_settings().sales_line)
        dispatcher.utter_message(text=f"另外，「{quoted}」{text}")


# A room to change on the spot ("隔壁太吵 能换个房间吗", "老公打呼噜 想换房"): the guide or the
# hotel's front desk arranges that now; we only record a complaint or hand over if it fails.
_ROOM_CHANGE = re.compile(
    r"换(?:个|一个|一间|间|到别的|别的)?(?:房|屋)|调(?:个|一下|一个)?房|分(?:开|两个)?房间?|换(?:个|张)?床"
)
_ROOM_BOOKED = re.compile(r"订|预订|预定|买")  # "能订房间吗" is a new booking, not this
# Whether a sight's ticket is paid ("丽江古城门票要钱吗", "景区门票含不含", "进景点要另外买票吗"):
# the contract's itinerary says so; not a refund of an unused one (that is the refund policy).
_TICKET = re.compile(r"门票|(?:景点|景区|古城|园区|公园|博物馆).{0,6}(?:买票|收费|要钱|付费|免费)")
_TICKET_COST = re.compile(
    r"要钱|收费|付费|免费|自费|自理|另付|另外|额外|包含|包括|含不含|含吗|含了|多少钱|几块|贵|买票|要买|交钱"
)
_TICKET_REFUND = re.compile(r"退|没去|未去|没用|未用")


def _not_covered_answer(text: str) -> Optional[str]:
    """What we say to a question no policy of ours answers; None when `text` asks none."""
    from actions.settings import get_settings

    if _ROOM_CHANGE.search(text) and not _ROOM_BOOKED.search(text):
        return (
            "换房要看酒店当晚有没有空房，最快的办法是直接联系随团导游/领队或酒店前台，请他们现场协调"
            "（换成其他房型可能需要补差价）。如果协调不了、问题一直没解决，可以告诉我，我帮您登记投诉；"
            "也可以回复“转人工”，由人工客服帮您联系。"
        )
    # Asked, not bought ("我想买两张门票" is a new booking): a question, or "自理还是含在团费里".
    asked = is_question(text) or "还是" in text
    if _TICKET.search(text) and _TICKET_COST.search(text) and asked and not _TICKET_REFUND.search(text):
        return (
            "行程单上列明的景点，首道门票已经含在团费里（以您的合同和行程单为准）；行程以外的景点、"
            "园中园和自费项目需要自理。想确认某个景点是否包含，可以发订单号和手机尾号后四位，我帮您查行程；"
            "也可以回复“转人工”，由人工客服为您确认。"
        )
    if _NOT_COVERED.search(text):
        return (
            "这个要看您报名的具体产品和行程安排，我这里没有统一的规定可以答复。请回复“转人工”，由人工客服为您确认"
            f"（需要加钱的会给您报价）；还没报名的也可以拨打销售热线 {get_settings().sales_line} 咨询。"
        )
    return None


def answer_not_covered(dispatcher: CollectingDispatcher, text: Optional[str]) -> bool:
    """Said so, with where to ask, when `text` asks something no policy of ours answers (a room
    change on the spot, whether a sight's ticket is paid, an upgrade, 单房差…); False otherwise.
    For any reading of the message: the NLU places these anywhere (policy, inform, off-topic,
    not understood)."""
    from actions.utils.text import DISCONTENT

    simple = to_simplified(text or "")
    said = _not_covered_answer(simple)
    if said is None or DISCONTENT.search(simple) or not (is_question(simple) or _asks_for(simple)):
        return False  # "门票多收了200 太坑了" is a complaint
    dispatcher.utter_message(text=said)
    return True


# "帮我换个房", "想换房": a request without a question mark.
_ASKS_FOR = re.compile(r"帮我|帮忙|给我|想|能不能|可以|可不可以|行不行|能否|还是")


def _asks_for(text: Optional[str]) -> bool:
    return bool(_ASKS_FOR.search(to_simplified(text or "")))


def not_covered(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """Said so, with where to ask, when the message asks only what no policy of ours answers."""
    text = to_simplified((tracker.latest_message or {}).get("text") or "")
    if _not_covered_answer(text) is None:
        return False
    if any(
        c.get("intent") == "policy"
        and c.get("response_key")
        and _not_covered_answer(to_simplified(c.get("text") or "")) is None
        for c in clauses(tracker)
    ):
        return False  # a question we do answer beside it: the usual answers
    dispatcher.utter_message(text=_not_covered_answer(text))
    return True


def complaint_told(dispatcher: CollectingDispatcher, tracker: Tracker) -> Optional[List[EventType]]:
    """ "我是要投诉！航班改时间没提前通知" (read as the complaint process, sure): no question asked,
    the traveller complains, so the complaint starts with what the message said. None otherwise
    ("投诉流程是怎样的", "我要投诉，怎么处理的？" get the process)."""
    from actions.router import start_complaint, wants_to_complain  # router -> questions

    text = (tracker.latest_message or {}).get("text") or ""
    if (
        tracker.active_loop
        or clauses(tracker)
        or is_question(to_simplified(text))
        or not wants_to_complain(text)
    ):
        return None
    return start_complaint(dispatcher, tracker)


async def answer_policy_question(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    """The question the message is about, then any other policy question in it."""
    told = complaint_told(dispatcher, tracker)
    if told is not None:
        return told
    record = to_the_record(tracker)
    if record is not None:
        return record
    trip = to_the_trip(tracker)
    if trip is not None:
        return trip
    if not_covered(dispatcher, tracker):
        return []
    # "那要多久" after the insurance answer, read as an unsure policy key: that topic again.
    key = follow_up_key(tracker) or retrieval_key(tracker)
    if not key:
        dispatcher.utter_message(response="utter_default")
        return []
    # In the order asked: "能开发票吗？另外行李限重多少" gets the invoice answer first.
    asked = extra_policy_keys(tracker, [])
    keys = asked if key in asked else _in_place(tracker, key, asked)
    events: List[EventType] = []
    for each in keys:
        events += await answer_key(dispatcher, tracker, each, extra=each != key)
    events += await answer_itinerary_clauses(dispatcher, tracker)
    decline_off_topic_clauses(dispatcher, tracker)
    not_covered_beside(dispatcher, tracker)
    if not any(_is_followup(e) for e in events):
        events += _itinerary_outside_clauses(tracker)
    message_id = (tracker.latest_message or {}).get("message_id")
    # A form this answer starts (FollowupAction) must not answer the same message again.
    return events + ([SlotSet("answered_message_id", message_id)] if message_id else [])
