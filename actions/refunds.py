"""Refund answers: the one bracket that applies, the amount for the traveller's own
booking, and the cancellation request (退团) that follows from it.

The cancellation request is recorded as a handoff (reason `cancellation_request`):
cancelling a trip needs a person to confirm the amount and the way back of the money,
and the agent sees the booking, the deduction the traveller was told and the trip's stage
(`trip_stage`: pre_trip or in_trip; a trip under way has its day noted).
"""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import List, Optional, Tuple

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.clients.contract import Booking
from actions.forms.base import latest_intent, latest_text, previous_reply_actions
from actions.questions import MIN_CLAUSE_CONFIDENCE, REFUND_KEY, clauses, follow_up_key
from actions.handoff import open_handoff
from actions.reader import itinerary_slots
from actions.utils.parsing import to_simplified
from actions.utils.refund import (
    bracket_line,
    china_today,
    compute_deduction,
    format_deduction,
    in_trip_deduction,
    schedule_line,
)
from actions.utils.text import chinese_number, format_time

logger = logging.getLogger(__name__)

_DAYS = re.compile(
    r"(?:出发前|提前|离出发(?:还有|还剩)?|距离?出发(?:还有|还剩)?|还有|前)\s*(?P<n>[0-9一二两三四五六七八九十]+)\s*天"
    r"|(?P<same>出发当天|当天退|出发那天)"
)
_OWN = re.compile(r"我|咱|本人|这个团|这个订单|这单|TR\d{8}", re.I)
_HOW_MUCH = (
    r"扣多少|要扣|扣掉|扣除多少|扣多少钱|多少钱|退多少|能退多少|退回多少|损失多少|扣钱|多少费用|扣费|手续费"
)
_CAN_I = r"能退吗|可以退吗|退得了"
_AMOUNT = re.compile(f"{_HOW_MUCH}|{_CAN_I}")
# "能退吗" after "我不打算去了" asks to cancel; after "退的话" / "如果…" it asks what would happen.
_ASKS_WHAT_IF = re.compile(f"(?:{_HOW_MUCH})|(?:的话|如果|要是|假如|万一).*(?:{_CAN_I})")
# Trips abroad, Hong Kong, Macao and Taiwan included, are under the outbound contract (GF-2014-2402).
_OUTBOUND = re.compile(
    r"出境|境外|国外|出国|海外|outbound|日本|韩国|泰国|越南|新加坡|马来|印尼|巴厘岛|菲律宾|柬埔寨|老挝|缅甸"
    r"|欧洲|美国|加拿大|澳洲|澳大利亚|新西兰|迪拜|土耳其|埃及|俄罗斯|马尔代夫|港澳|香港|澳门|台湾",
    re.I,
)
_DOMESTIC = re.compile(r"国内|境内")
# Intents whose flow verifies the booking in this turn (action_start_verification).
_VERIFYING = {"query_itinerary", "request_cancellation"}
# What a verification started by the intent is for, unless verification_purpose says otherwise.
PURPOSES = {"query_itinerary": "itinerary", "request_cancellation": "cancellation"}
# The traveller's words of asking to leave or cancel ("我要退团", "帮我退掉", "申请离团"): only
# these register a cancellation ...
_CLEAR_REQUEST = re.compile(
    r"(?:我要|我想|帮我|给我|麻烦|申请|办理?|登记|确定|决定|直接)\s*(?:提前)?(?:退团|退掉|退了|退订|离团|取消(?:订单|行程)?)"
)
# ... unless they say it is only a question so far ("先算算", "还没决定").
_JUST_ASKING = re.compile(
    r"先算|算算|算一下|先问|问问|只是问|就是问|随便问|先了解|了解一下|还没决定|没决定|没想好|还在考虑|考虑一下|再考虑"
)
# Said when a cancellation being verified turns out to be only a question.
AMOUNT_ONLY = "好的，那就不为您登记退团申请。核对订单后，我只帮您计算按合同需要扣除的费用。"
_OFFER = "utter_refund_offer_compute"
# A line of the refund table said as text is recorded as the refund answer (the bot event's
# utter_action), so the follow-up mechanism (questions.follow_up_key) knows what "那出境呢" follows.
REFUND_ANSWER = "utter_" + REFUND_KEY
# "钱退到哪里", "多久到账", "能退回微信吗": how the money comes back, not how much.
_REFUND_WAY = re.compile(
    r"退(?:到|回|给|去)(?:哪|什么|啥|原|我的|微信|支付宝|银行卡|卡|账户)|(?:钱|款|退款)(?:会|能)?(?:打|退|返)?到哪"
    r"|(?:多久|多长时间|几天|什么时候|啥时候|何时)(?:能|可以|才|会)?(?:到账|到帐|退回|退到|收到|退款)"
    r"|到账|到帐|原路|退款方式|怎么退(?:给|回)"
)
REFUND_WAY = (
    "退款在审核通过后 7 个工作日内原路退回（付款时用的微信、支付宝或银行卡）；"
    "信用卡到账时间以发卡行为准。已提交退团申请的，客服确认扣款金额后即为您办理。"
)
# Words of a refund question; a message with none of them that the selector only guessed to be
# one ("要提前多久到" after the meeting point, 0.26) is not computed for the booking.
_REFUND_WORDS = re.compile(
    r"退|扣|取消|损失|违约|手续费|费|钱|款|到账|到帐|不去|不玩|不想去|走不了|去不了|去不成|不能去|没法去|参加不了"
    r"|refund|cancel",
    re.I,
)
SURE_REFUND = 0.8
# The fee asked beside the way back ("退团怎么收费，多久到账"): the whole answer, which says both.
_FEE_ASKED = re.compile(f"{_HOW_MUCH}|{_CAN_I}|扣|收费|费用|规定|政策|标准|怎么算")


def days_asked(text: str) -> Optional[int]:
    match = _DAYS.search(to_simplified(text or ""))
    if not match:
        return None
    if match.group("same"):
        return 0
    return chinese_number(match.group("n"))


def asks_amount_only(text: str) -> bool:
    """ "中途不想玩了退多少", "我想退 先算算扣多少", "退的话能退吗": how much or what if, with no
    clear request to cancel ("我不打算去了，能退吗" is one)."""
    simple = to_simplified(text or "")
    return bool(_ASKS_WHAT_IF.search(simple)) and (
        bool(_JUST_ASKING.search(simple)) or not _CLEAR_REQUEST.search(simple)
    )


def answers_offer(tracker: Tracker) -> bool:
    """The bot's turn before this message offered to compute this traveller's amount
    (utter_refund_offer_compute): the number and digits that follow answer it."""
    return _OFFER in previous_reply_actions(tracker)


def verification_purpose(tracker: Tracker) -> str:
    """What a verification starting at this message is for (verify_purpose). One rule for every
    start: an amount question is answered with the amount ("中途不想玩了退多少" reads as a
    cancellation request, but only a clear request registers one); a message that answers the
    offer to compute with the number or digits and asks nothing else keeps that offer's purpose
    (the day-1 itinerary answered "TR20260010" after it); else the intent's."""
    text = latest_text(tracker)
    if _verifying_cancellation(tracker) and _JUST_ASKING.search(to_simplified(text)):
        # "其实我就是想问问 还没决定" while the cancellation is verified: whatever the NLU read.
        return "refund"
    purpose = PURPOSES.get(latest_intent(tracker) or "", "itinerary")
    if purpose == "cancellation":
        return "refund" if asks_amount_only(text) else purpose
    if answers_offer(tracker) and not any(itinerary_slots(text)):
        return "refund"
    return purpose


def _verifying_cancellation(tracker: Tracker) -> bool:
    return (tracker.active_loop or {}).get("name") == "verify_form" and tracker.get_slot(
        "verify_purpose"
    ) == "cancellation"


def keep_to_the_amount(dispatcher: CollectingDispatcher, tracker: Tracker) -> Optional[List[EventType]]:
    """A cancellation being verified that the traveller says is only a question so far ("其实我
    就是想问问 还没决定"): nothing will be registered, the verification goes on for the amount.
    None when the message is no such thing (the form asks its question again after it)."""
    if not _verifying_cancellation(tracker) or verification_purpose(tracker) != "refund":
        return None
    dispatcher.utter_message(text=AMOUNT_ONLY)
    return [SlotSet("verify_purpose", "refund")]


def refund_text(booking: Booking, today: Optional[date] = None, asking: bool = True) -> str:
    """What cancelling this booking costs today (China's date), or why it cannot be cancelled.
    `asking`: the traveller asked how much; a trip under way then ends with the question whether
    to register leaving early (a request being registered says no such thing)."""
    today = today or china_today()
    ref = booking["ref"]
    departure = date.fromisoformat(booking["departure_date"][:10])
    end = date.fromisoformat(booking["return_date"][:10])
    if today > end:
        return (
            f"您的订单 {ref} 的行程已于 {format_time(end.isoformat())} 结束，行程结束后不能再退团。"
            "如果行程中有约定的服务没有提供，可以告诉我具体情况，我帮您登记投诉，核实后按合同退还相应费用。"
        )
    if today >= departure:
        text = in_trip_text(booking, departure, end, today)
        # Asked, never registered in the same turn: only "我要退团" registers (request_cancellation).
        return text + (IN_TRIP_ASK if asking else "")
    price = int(booking["price_cny"])
    deduction = compute_deduction(booking["tour_type"], price, (departure - today).days)
    return format_deduction(ref, price, deduction)


# Said after the amount to a traveller who said they will not go ("我不去了…能退多少"), where an
# amount question alone registers nothing.
REGISTER_ASK = "\n需要我帮您登记退团申请吗？需要的话回复“我要退团”；只是问问的话不用回复，不会为您登记。"


def wished_to_cancel(tracker: Tracker) -> bool:
    """One of the traveller's last three messages was read as cancelling the trip."""
    users = [e for e in tracker.events or [] if e.get("event") == "user"][-3:]
    return any(
        ((e.get("parse_data") or {}).get("intent") or {}).get("name") == "request_cancellation" for e in users
    )


IN_TRIP_ASK = (
    "\n需要我帮您登记提前离团（退团）申请吗？需要的话回复“我要退团”；只是问问的话不用回复，不会为您登记。"
)


def in_trip_text(booking: Booking, departure: date, end: date, today: date) -> str:
    """Clause 15.2 for a trip under way, with the estimate the booking's price and days allow."""
    head = (
        f"您的订单 {booking['ref']} 的行程已经开始（{format_time(departure.isoformat())} 出发）。"
        "行程中退团按合同第十五条第2款：先扣出发当日比例的费用，其余团费再按已游览天数折算扣除。"
    )
    try:
        price = int(booking["price_cny"])
        d = in_trip_deduction(
            booking["tour_type"], price, (end - departure).days + 1, (today - departure).days + 1
        )
    except (KeyError, TypeError, ValueError):
        return head + "具体金额需由客服核算。"
    p = d.first_day_percent
    return (
        f"{head}\n按您的订单（{d.tour_type_label}，团费 {price} 元，共{d.tour_days}天，"
        f"今天是第{d.days_travelled}天，按已游览{d.days_travelled}天计）估算："
        f"团费×{p}% +（团费−团费×{p}%）÷{d.tour_days}×{d.days_travelled}，"
        f"约扣 {d.amount} 元，预计可退 {d.refund} 元。"
        "实际金额由客服核实已游览天数和已发生的费用后确定。"
    )


def _tour_types(text: str, booking: Optional[Booking] = None) -> List[str]:
    """The schedules that apply: the booking's, else the one the message names, else both."""
    if booking:
        return [booking["tour_type"]]
    # "国内游出发前5天退团扣多少 那出境呢": both named, both lines.
    named = [t for t, words in (("domestic", _DOMESTIC), ("outbound", _OUTBOUND)) if words.search(text)]
    return named or ["domestic", "outbound"]


def names_tour_type(text: str) -> bool:
    """ "那出境呢", "跟团去日本的", "国内的": the message names the kind of trip."""
    simple = to_simplified(text or "")
    return bool(_OUTBOUND.search(simple) or _DOMESTIC.search(simple))


def _days_asked_before(tracker: Tracker) -> Optional[int]:
    """The days before departure the traveller's message before this one asked about."""
    users = [e for e in tracker.events or [] if e.get("event") == "user"]
    for event in reversed(users[-3:-1]):
        days = days_asked(event.get("text") or "")
        if days is not None:
            return days
    return None


def answer_bracket(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """ "出发前10天呢" after the refund table: the line for those days (both tour types, the
    traveller's booking not being checked here), then the offer to compute theirs; "那出境呢",
    "跟团去日本的" after such a line: the line of that kind of trip for the same days. False when
    the message names no number of days (nor a kind of trip after one)."""
    text = latest_text(tracker)
    days = days_asked(text)
    if days is None and names_tour_type(text):
        days = _days_asked_before(tracker)
    if days is None:
        return False
    say_bracket(dispatcher, _tour_types(text), days)
    if not tracker.get_slot("verified_booking"):
        dispatcher.utter_message(response=_OFFER)
    return True


def answer_schedule(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """ "那出境呢" after the whole refund table: the schedule of the kind of trip named, not the
    table again. False when the message names no kind of trip."""
    text = latest_text(tracker)
    if not names_tour_type(text):
        return False
    lines = [schedule_line(t) for t in _tour_types(to_simplified(text))]
    dispatcher.utter_message(text="\n".join(lines), utter_action=REFUND_ANSWER)
    if not tracker.get_slot("verified_booking"):
        dispatcher.utter_message(response=_OFFER)
    return True


def say_bracket(dispatcher: CollectingDispatcher, tour_types: List[str], days: int) -> None:
    """The refund table's line for those days, recorded as the refund answer (REFUND_ANSWER)."""
    text = "\n".join(bracket_line(t, days) for t in tour_types)
    dispatcher.utter_message(text=text, utter_action=REFUND_ANSWER)


def asks_refund_way(text: str) -> bool:
    return bool(_REFUND_WAY.search(to_simplified(text or "")))


def _not_a_refund_question(tracker: Tracker) -> bool:
    """The selector's unsure refund pick for a message without a word of refunds."""
    selector = (tracker.latest_message or {}).get("response_selector", {}).get("policy", {})
    sure = (selector.get("response") or {}).get("confidence") or 0
    return sure < SURE_REFUND and not _REFUND_WORDS.search(to_simplified(latest_text(tracker)))


def bracket_follow_up(dispatcher: CollectingDispatcher, tracker: Tracker) -> Optional[List[EventType]]:
    """For a flow that would otherwise start (the NLU reads "出发前10天呢" as an itinerary day):
    the refund line for those days when the message follows the refund table, and nothing more
    this turn; None otherwise."""
    if follow_up_key(tracker) == REFUND_KEY and answer_bracket(dispatcher, tracker):
        return [FollowupAction("action_listen")]
    return None


async def answer_refund_question(
    dispatcher: CollectingDispatcher, tracker: Tracker, extra: bool = False
) -> List[EventType]:
    from actions.clients.ticketing import TicketingError, get_client

    text = latest_text(tracker)
    if asks_refund_way(text) and days_asked(text) is None and not _FEE_ASKED.search(to_simplified(text)):
        # "钱退到哪里" after the deduction: where and when, not the amount again.
        dispatcher.utter_message(text=REFUND_WAY, utter_action=REFUND_ANSWER)
        return []
    if not extra and _not_a_refund_question(tracker):
        from actions.itinerary import own_business  # itinerary -> reader -> handoff -> refunds

        # "要提前多久到" after the meeting point: never this booking's deduction; the trip's
        # answer when it asks about the trip, else the general answer.
        routed = own_business(tracker)
        if routed is not None:
            return routed
        dispatcher.utter_message(response="utter_policy/refund")
        if not tracker.get_slot("verified_booking") and not tracker.active_loop:
            dispatcher.utter_message(response=_OFFER)
        return []
    verified = tracker.get_slot("verified_booking")
    ref = tracker.get_slot("booking_ref")
    own_booking = verified if verified and ref in (None, verified) else None
    booking = None
    if own_booking:
        try:
            booking = await get_client().get_booking(
                own_booking, tracker.get_slot("verify_grant"), tracker.sender_id
            )
        except TicketingError:
            logger.info("booking unavailable for the refund answer")
    if not booking and _number_and_digits_given(tracker):
        # "TR20260013 8901 我退团扣多少？行李能带几件？": the number and digits are in the message;
        # checked here, whichever question of the message was read first, so the amount comes now
        # and neither is asked for again.
        booking, verified_events = await _check_given(dispatcher, tracker)
        if not booking:
            return verified_events
    else:
        verified_events = []
    days = days_asked(text)
    if days is not None:
        # "出发前7天退团扣多少": the line that applies, for their tour type if known.
        say_bracket(dispatcher, _tour_types(text, booking), days)
        return verified_events
    if booking:
        dispatcher.utter_message(text=refund_text(booking))
        return verified_events
    intent = latest_intent(tracker)
    if extra and intent in _VERIFYING and not tracker.active_loop:
        # "退团怎么扣费顺便问下导游电话多少": the verification this message starts asks for the
        # booking number next. A second request for it confuses; the amount comes once verified.
        dispatcher.utter_message(response="utter_policy/refund")
        if intent == "query_itinerary":
            dispatcher.utter_message(response="utter_refund_after_verify")
            return [SlotSet("refund_after_verify", True)]
        return []  # a cancellation request states the deduction for the booking itself
    if not extra and not tracker.active_loop and _itinerary_beside(tracker):
        # "退团怎么扣费顺便问下导游电话多少" read as a policy question: one verification serves
        # both, the itinerary item first and then this booking's amount (action_verified).
        dispatcher.utter_message(response="utter_policy/refund")
        dispatcher.utter_message(response="utter_refund_after_verify")
        return [
            SlotSet("refund_after_verify", True),
            SlotSet("verify_purpose", "itinerary"),
            SlotSet("verify_blocked", None),
            SlotSet("form_failures", 0.0),
            FollowupAction("verify_form"),
        ]
    asks_own = bool(ref) or (_OWN.search(text) and _AMOUNT.search(text))
    if asks_own and not extra and not tracker.active_loop:
        # Their own booking: verify it in this conversation, then compute (action_verified).
        dispatcher.utter_message(response="utter_refund_will_compute")
        return [SlotSet("verify_purpose", "refund"), FollowupAction("verify_form")]
    dispatcher.utter_message(response="utter_policy/refund")
    if not (tracker.active_loop or {}).get("name") and intent != "complain":
        # Not while a form asks for the number itself (the verification, a complaint this
        # message starts): two requests for the booking number in one reply confuse.
        dispatcher.utter_message(response="utter_refund_offer_compute")
    return []


def _number_and_digits_given(tracker: Tracker) -> bool:
    """The booking number and phone digits are known, not yet checked, and no form will check
    them this turn (a form asking, or the flow of an itinerary or cancellation request, does)."""
    return bool(
        tracker.get_slot("booking_ref")
        and tracker.get_slot("phone_last4")
        and not tracker.active_loop
        and latest_intent(tracker) not in _VERIFYING
        and not tracker.get_slot("verify_blocked")
    )


async def _check_given(
    dispatcher: CollectingDispatcher, tracker: Tracker
) -> Tuple[Optional[Booking], List[EventType]]:
    """The booking and the verification's slots when the given digits match; else no booking,
    the general answer and why, and the events to return."""
    from actions.clients.ticketing import Locked, Mismatch, NotFound, TicketingError, get_client

    ref = tracker.get_slot("booking_ref")
    try:
        checked = await get_client().verify_booking(
            ref,
            tracker.get_slot("phone_last4"),
            tracker.sender_id,
            tracker.get_latest_input_channel() or "rest",
        )
    except (NotFound, Mismatch):
        dispatcher.utter_message(response="utter_policy/refund")
        dispatcher.utter_message(response="utter_verify_failed_retry", number=ref)
        return None, _ask_digits_again()
    except Locked as locked:
        dispatcher.utter_message(response="utter_policy/refund")
        dispatcher.utter_message(response="utter_verify_locked", minutes=locked.minutes)
        return None, [SlotSet("phone_last4", None)]
    except TicketingError:
        logger.info("verification unavailable for the refund answer")
        dispatcher.utter_message(response="utter_policy/refund")
        return None, []
    return checked["booking"], [
        SlotSet("verified_booking", ref),
        SlotSet("verify_grant", checked.get("grant")),
        SlotSet("phone_last4", None),
    ]


def _ask_digits_again() -> List[EventType]:
    """After digits that did not match: the verification asks for them again (the number is
    kept), and computes the amount once they match (action_verified)."""
    return [
        SlotSet("phone_last4", None),
        SlotSet("verify_purpose", "refund"),
        SlotSet("verify_blocked", None),
        SlotSet("form_failures", 1.0),
        FollowupAction("verify_form"),
    ]


def _itinerary_beside(tracker: Tracker) -> bool:
    """An itinerary question in another clause of the message, for a traveller not yet verified."""
    return not tracker.get_slot("verified_booking") and any(
        c.get("intent") == "query_itinerary" and (c.get("confidence") or 0) >= MIN_CLAUSE_CONFIDENCE
        for c in clauses(tracker)
    )


# A trip under way: the agent needs the guide's word on the days travelled and the costs
# incurred, and the traveller is still with the group until that is settled.
IN_TRIP_NEXT = (
    "您的行程正在进行中（今天是第{day}天，共{days}天）。接下来客服会与您和随团导游{guide}联系，"
    "核实已游览的天数和已发生的费用，核算出扣款金额后告诉您，并确认退款方式。"
    "在此之前行程照常进行；如果您需要提前离团，请先告知导游，并注意人身和财物安全。"
)
NOT_RECORDED = "抱歉，退团申请暂时没能登记，您的订单没有任何变动，请稍后再说一次“我要退团”。"


async def record_cancellation(
    dispatcher: CollectingDispatcher, tracker: Tracker, booking: Booking, today: Optional[date] = None
) -> List[EventType]:
    """States the deduction for this booking and queues the request for an agent, before
    departure and during the trip alike (the stage noted for the agent); a trip already over
    has nothing left to cancel."""
    today = today or china_today()
    text = refund_text(booking, today, asking=False)
    dispatcher.utter_message(text=text)
    departure = date.fromisoformat(booking["departure_date"][:10])
    end = date.fromisoformat(booking["return_date"][:10])
    if today > end:
        return []  # refund_text says it is over and how to complain about a missed service
    note = {"trip_stage": "pre_trip", "cancellation": text[:500]}
    under_way, guide = None, ""
    if today >= departure:
        day, days = (today - departure).days + 1, (end - departure).days + 1
        note["trip_stage"] = "in_trip"
        note["cancellation_note"] = (
            f"行程进行中：{format_time(departure.isoformat())} 出发，"
            f"今天是第{day}天（共{days}天），游客要求中途退团"
        )
        guide = booking.get("guide_name") or ""
        if guide and booking.get("guide_phone"):
            guide += f"（{booking['guide_phone']}）"
        under_way = IN_TRIP_NEXT.format(day=day, days=days, guide=guide)
    # The queue's own message comes last, and "已为您登记" only once the API has the request:
    # with the API down it would be untrue.
    queued = CollectingDispatcher()
    events = await open_handoff(tracker, queued, "cancellation_request", extra_summary=note)
    if events:
        dispatcher.utter_message(response="utter_cancellation_recorded")
        if under_way:
            dispatcher.utter_message(text=under_way)
    else:
        # During the trip the guide is the one person who can act at once.
        on_trip = f"行程中如需马上处理，请先联系随团导游{guide}。" if under_way else ""
        dispatcher.utter_message(text=NOT_RECORDED + on_trip)
    dispatcher.messages.extend(queued.messages)
    return events
