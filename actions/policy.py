"""Policy questions: the ResponseSelector's answer, one per question asked."""

from __future__ import annotations

import re
from typing import List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

import servicekit

from actions.forms.base import latest_text
from actions.questions import (
    REFUND_KEY,
    answer_policy_question,
    clauses,
    follow_up_key,
    last_policy_key,
    retrieval_key,
    story_beside_questions,
)
from actions.refunds import (
    REFUND_WAY,
    answer_bracket,
    answer_schedule,
    asks_refund_way,
    keep_to_the_amount,
    names_tour_type,
)
from actions.utils.parsing import to_simplified
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


# A follow-up that asks one part of the topic just answered, which the general answer does not
# say or only says in passing; the NLU reads it as anything ("要什么材料" out_of_scope 0.73, "日本的"
# inform 0.99), so what decides is the topic before and the words of the message.
DELAY_KEY, CHANGE_KEY, VISA_KEY = "policy/delay", "policy/change", "policy/visa"
_MATERIALS = re.compile(r"材料|证明|资料|凭证|单据|手续|(?:要|需要|得|该)(?:带|准备|提供|交)(?:什么|啥|哪些)")
DELAY_MATERIALS = (
    "航班延误险理赔一般需要：航空公司出具的延误证明（可在机场柜台或航空公司官网/App开具）、"
    "登机牌或电子客票行程单、身份证件、保单信息和收款银行卡；具体以保单条款和保险公司的要求为准。"
    "延误证明请尽早向航空公司索取，理赔中需要我们提供行程证明的，可以回复“转人工”。"
)
# "能改到下个月吗", "改到15号行不行", "推迟一周可以吗": a particular change, which depends on the
# booking; the traveller is told on what, and how it goes on.
_PARTICULAR_CHANGE = re.compile(
    r"(?:改|换|调|延|推|挪)(?:到|成|去)|推迟|延后|往后|提前到|改(?:个|一下)?(?:日期|时间|团期)"
    r"|下(?:个)?(?:月|周|星期|礼拜)|\d+\s*(?:号|日)|[一二三四五六七八九十]+(?:号|月)"
)
CHANGE_DEPENDS = (
    "能不能改到您想要的时间，要看新团期有没有名额，以及机票、酒店等已产生的改签费用"
    "（差价多退少补；临近出发的改期视同退团后重新报名），需要专员按您的订单确认。"
)
CHANGE_NEXT = (
    "请提供订单号，我帮您记录改期需求，由专员确认可行方案和费用后联系您；着急的话也可以回复“转人工”。"
)
# "日本的", "去泰国呢", "港澳的": the visa of that destination.
_DESTINATION = re.compile(
    r"日本|韩国|泰国|越南|新加坡|马来西亚|印尼|巴厘岛|菲律宾|柬埔寨|老挝|缅甸|欧洲|美国|加拿大|澳洲|澳大利亚"
    r"|新西兰|迪拜|阿联酋|土耳其|埃及|俄罗斯|马尔代夫|英国|法国|德国|意大利|瑞士|西班牙|港澳|香港|澳门|台湾"
)
_PERMIT_PLACES = re.compile(r"港澳|香港|澳门|台湾")
VISA_FOR = (
    "去{place}的旅游签证一般由我们代办，费用是否含在团费内见合同和行程单。报名后签证专员会按{place}的要求"
    "把材料清单发给您（常见的有护照、照片、在职或在读证明、银行流水等，以清单为准），请在规定日期前提交；"
    "护照有效期须在回程日后至少6个月以上。想提前确认的，请提供订单号并回复“转人工”。"
)
PERMIT_FOR = (
    "去{place}需要有效的{permit}和对应签注，签注的办理要求以出入境管理部门为准；"
    "具体材料报名后我们会告知您。想提前确认的，请提供订单号并回复“转人工”。"
)


def specific_follow_up(key: str, text: str) -> bool:
    """The message asks one part of the policy topic `key` just answered, which
    answer_specific_follow_up says ("要什么材料" after the delay answer, "能改到下个月吗" after the
    change answer, "日本的" after the visa answer, "那出境呢" or "钱退到哪里" after a refund answer):
    a follow-up whatever the NLU read it as."""
    simple = to_simplified(text or "")
    if key == DELAY_KEY:
        return bool(_MATERIALS.search(simple))
    if key == CHANGE_KEY:
        return bool(_PARTICULAR_CHANGE.search(simple))
    if key == VISA_KEY:
        return bool(_DESTINATION.search(simple))
    if key == REFUND_KEY:
        return names_tour_type(simple) or asks_refund_way(simple)
    return False


def answer_specific_follow_up(dispatcher: CollectingDispatcher, tracker: Tracker, key: str) -> bool:
    """The answer to that part of the topic (specific_follow_up); False when the message asks none.
    After a refund answer: how the money comes back, or the line of the kind of trip named for the
    days asked before (answer_bracket)."""
    text = to_simplified(latest_text(tracker))
    if not specific_follow_up(key, text):
        return False
    if key == REFUND_KEY:
        if not asks_refund_way(text):
            return answer_bracket(dispatcher, tracker) or answer_schedule(dispatcher, tracker)
        answer = REFUND_WAY
    elif key == DELAY_KEY:
        answer = DELAY_MATERIALS
    elif key == CHANGE_KEY:
        ref = _known_booking(tracker)
        answer = CHANGE_DEPENDS + (GIVEN_BOOKING_NOTED.format(ref=ref) if ref else CHANGE_NEXT)
    else:
        place = _DESTINATION.search(text).group(0)  # type: ignore[union-attr]
        if _PERMIT_PLACES.fullmatch(place):
            permit = "台湾通行证（大陆居民往来台湾通行证）" if place == "台湾" else "港澳通行证"
            answer = PERMIT_FOR.format(place=place, permit=permit)
        else:
            answer = VISA_FOR.format(place=place)
    # Recorded as the topic's answer: a further follow-up still follows this topic.
    dispatcher.utter_message(text=answer, utter_action=f"utter_{key}")
    return True


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
        # The topic just answered, when this message follows it up or the NLU reads it as that
        # topic again ("改到15号行不行" names a date, which follow_up_key leaves to the itinerary).
        previous = last_policy_key(tracker)
        key = follow_up_key(tracker) or (previous if previous == retrieval_key(tracker) else None)
        # The refund's own follow-ups (the days, the way back) are answer_refund_question's, with
        # the traveller's booking when verified.
        specific = key not in (None, REFUND_KEY) and amount_only is None
        if specific and answer_specific_follow_up(dispatcher, tracker, key):
            return []  # "能改到下个月吗" after the change answer: what it depends on, how to go on
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
