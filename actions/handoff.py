"""Escalation to a human agent and the fallback that leads there.

The bot opens a handoff in the ticketing API (queue for the agent console), tells the
traveller their place and expected wait, and pauses the conversation: Rasa then stores the
traveller's messages without answering until the API resumes it (RASA-NOTES, "Handoff").
"""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import (
    ActiveLoop,
    ConversationPaused,
    EventType,
    FollowupAction,
    SlotSet,
    UserUtteranceReverted,
)
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.clients.rasa import say_to_paused
from actions.clients.ticketing import Rejected, TicketingError, Unavailable, get_client
from actions.forms.base import latest_text
from actions.scope import misunderstood_in_a_row
from actions.settings import get_settings
from actions.utils.text import CHINA_TZ

logger = logging.getLogger(__name__)

REASONS = (
    "request_human",
    "urgent_complaint",
    "fallback",
    "form_failures",
    "emergency",
    "cancellation_request",
)
URGENT_REASONS = ("urgent_complaint", "emergency")
# Slots that are bookkeeping, not something the traveller told us.
_INTERNAL_SLOTS = {
    "requested_slot",
    "complaint_confirming",
    "session_started_metadata",
    "read_message_id",
    "cancel_pending",
    "verify_purpose",
    "verify_blocked",
    "refund_after_verify",
    "verify_grant",
    "answered_message_id",
}
_OFFER = "utter_offer_human"


def collected_slots(tracker: Tracker) -> Dict[str, Any]:
    """Every value the bot learned in this session, even if a cancelled form cleared it since
    (request_human inside a form runs action_cancel_form first)."""
    seen: Dict[str, Any] = {}
    for event in tracker.events:
        if event.get("event") == "session_started":
            seen = {}
        elif event.get("event") == "slot" and event.get("name") not in _INTERNAL_SLOTS:
            if event.get("value") not in (None, "", []):
                seen[event["name"]] = event["value"]
    for name, value in (tracker.slots or {}).items():  # current values win
        if name not in _INTERNAL_SLOTS and value not in (None, "", []):
            seen[name] = value
    if not seen.get("form_failures"):
        seen.pop("form_failures", None)
    return seen


def handoff_reason(tracker: Tracker) -> str:
    """request_human, unless the traveller pressed the button of an offer made after two
    misunderstandings (fallback) or repeated invalid answers in a form (form_failures)."""
    events = list(tracker.events)
    # Skip back to before the traveller's latest message.
    for index in range(len(events) - 1, -1, -1):
        if events[index].get("event") == "user":
            events = events[:index]
            break
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if event.get("event") == "user":
            return "request_human"
        if event.get("event") == "bot":
            if (event.get("metadata") or {}).get("utter_action") != _OFFER:
                return "request_human"
            for earlier in reversed(events[:index]):
                if earlier.get("event") == "action" and earlier.get("name") not in (None, "action_listen"):
                    return (
                        "fallback"
                        if earlier["name"] in ("action_fallback", "action_default_fallback")
                        else "form_failures"
                    )
            return "fallback"
    return "request_human"


def _back_at(next_opening: Optional[Text], now: Optional[datetime]) -> Text:
    """When agents are back, in China time: "明天 08:00" (DESIGN §4: China's dates)."""
    try:
        back = datetime.fromisoformat(str(next_opening)).astimezone(CHINA_TZ)
    except (TypeError, ValueError):
        return "上班后"
    today = (now or datetime.now(timezone.utc)).astimezone(CHINA_TZ).date()
    days = (back.date() - today).days
    day = {0: "今天", 1: "明天"}.get(days, f"{back.month}月{back.day}日")
    return f"{day} {back:%H:%M}"


def queue_message(handoff: Dict[str, Any], reason: str, now: Optional[datetime] = None) -> Text:
    """What the traveller is told on joining the queue; honest about who can answer: the wait
    in minutes only when agents are online within the opening hours; out of hours, when they
    are back; an emergency is pointed to the 24-hour line whenever no agent can answer now."""
    position = handoff.get("position")
    minutes = handoff.get("expected_wait_minutes")
    if handoff.get("status") == "active":
        return "人工客服已经在处理您的会话，请直接在这里留言，客服会尽快回复您。"
    # Missing fields (an older API) read as open with agents online: the estimate alone decides.
    open_now = handoff.get("open_now", True) is not False
    nobody_online = open_now and handoff.get("agents_online") == 0
    urgent = reason in URGENT_REASONS or handoff.get("severity") == "urgent"
    if reason == "emergency" and not handoff.get("created", True):
        lead = "已将您的会话升级为紧急，排在人工客服队列最前面"
    elif not handoff.get("created", True):
        lead = "您已在人工客服队列中"
    elif urgent:
        lead = "您的情况紧急，已优先为您转接人工客服"
    elif reason == "cancellation_request":
        lead = "退团申请已转给人工客服办理"
    elif not open_now or nobody_online:
        lead = "好的，已为您登记人工客服请求"
    else:
        lead = "好的，正在为您转接人工客服"
    place = f"，您目前排在第 {position} 位" if position else ""
    if urgent and (not open_now or nobody_online):
        # Nobody in the chat can help right now: the duty line, answered at any hour, comes
        # first; "agents reply at 08:00 in queue order" would read as "wait" in an emergency.
        if not open_now:
            nobody = "现在是人工客服的非服务时间"
            later = f"客服{_back_at(handoff.get('next_opening'), now)}上班后第一个跟进您的情况"
        else:
            nobody = "目前暂时没有客服在线"
            later = "客服上线后第一个跟进您的情况"
        return (
            f"{lead}{place}。{nobody}，请立即拨打 24 小时紧急救援电话 "
            f"{get_settings().emergency_line}，值班人员全天接听、马上处理；{later}。"
            "您在这里补充的情况客服都能看到，不需要重复描述。"
        )
    if not open_now:
        hours = handoff.get("opening_hours") or ""
        when = f"（每天 {hours}，北京时间）" if hours and hours != "全天" else ""
        status = (
            f"。现在是人工客服的非服务时间{when}，客服将于{_back_at(handoff.get('next_opening'), now)}"
            "上班后按排队顺序回复您，您的请求会一直保留在队列中"
        )
    elif nobody_online:
        status = "。目前暂时没有客服在线，无法估计等待时间；客服上线后会按排队顺序尽快回复您"
    else:
        status = f"，预计等待约 {minutes} 分钟" if minutes else ""
    text = (
        f"{lead}{place}{status}。客服接入后会在这里直接回复您；"
        "等待期间您可以继续补充情况，客服都能看到，不需要重复描述。"
    )
    return text


async def open_handoff(
    tracker: Tracker,
    dispatcher: CollectingDispatcher,
    reason: str,
    ticket_no: Optional[str] = None,
    extra_summary: Optional[Dict[str, Any]] = None,
    notice: Optional[Text] = None,
) -> List[EventType]:
    """Queue the conversation for an agent, tell the traveller, and pause the bot.

    `notice` is for a conversation already waiting (paused): the API relays it through the
    traveller's channel, since nothing the bot says then reaches them.

    Returns the events to add (ConversationPaused on success, nothing if the API is down:
    then the bot keeps answering rather than leaving the traveller in silence).
    """
    if reason not in REASONS:
        raise ValueError(f"unknown handoff reason {reason!r}")
    summary = collected_slots(tracker)
    latest = (tracker.latest_message or {}).get("text")
    if latest:
        summary["last_message"] = latest
    summary.update(extra_summary or {})
    payload: Dict[str, Any] = {
        "conversation_id": tracker.sender_id,
        "channel": tracker.get_latest_input_channel() or "rest",
        "reason": reason,
        "summary": summary,
    }
    if ticket_no:
        payload["ticket_no"] = ticket_no
    if notice:
        payload["notice"] = notice
    if reason in URGENT_REASONS:
        payload["severity"] = "urgent"
    try:
        try:
            handoff = await get_client().open_handoff(payload)
        except Rejected:
            if "ticket_no" not in payload:
                raise
            # A ticket number the traveller typed may not exist: hand over anyway, unlinked.
            summary["ticket_no"] = payload.pop("ticket_no")
            handoff = await get_client().open_handoff(payload)
    except Unavailable:
        dispatcher.utter_message(
            text="抱歉，人工客服系统暂时无法连接，请稍后再回复“转人工”。如有人身危险请先拨打 110 或 120。"
        )
        return []
    except TicketingError as exc:
        logger.warning("handoff refused by the API: %s", exc)
        dispatcher.utter_message(text="抱歉，暂时无法为您转接人工客服，请稍后再试。")
        return []
    logger.info("handoff #%s opened (%s)", handoff.get("id"), reason)
    dispatcher.utter_message(text=queue_message(handoff, reason))
    return [ConversationPaused()]


# While a conversation waits for an agent, Rasa answers nothing: a traveller who writes "确认"
# or "还要等多久" hears silence and may think the chat broke. Until an agent has written, a
# message gets this, at most once per WAITING_ACK_SECONDS (bot event metadata `waiting_ack`;
# agents' messages carry `handoff_agent`, set by the ticketing API).
WAITING_ACK = (
    "已收到您的消息，会一并转给人工客服。您的会话仍在排队，客服接入后会在这里直接回复您，请稍候；"
    "如有人身危险请先拨打110或120。"
)
WAITING_ACK_SECONDS = 180


def waiting_ack_due(
    events: List[Dict[str, Any]], now: float, metadata: Optional[Dict[str, Any]] = None
) -> bool:
    """True when the paused conversation's traveller should be told the message arrived:
    no agent has written since the last pause and no acknowledgement went out lately. Not for
    the widget's note that the traveller started a new conversation (nobody reads this one)."""
    if (metadata or {}).get("widget") == "new_conversation":
        return False
    start = max((i for i, e in enumerate(events) if e.get("event") == "pause"), default=None)
    if start is None:
        return False
    for event in events[start + 1 :]:
        if event.get("event") != "bot":
            continue
        metadata = event.get("metadata") or {}
        if metadata.get("handoff_agent"):
            return False
        if metadata.get("waiting_ack") and now - float(event.get("timestamp") or 0) < WAITING_ACK_SECONDS:
            return False
    return True


def acknowledge_waiting(tracker: Tracker, now: Optional[float] = None) -> None:
    """Tell a traveller waiting for an agent that their message arrived (see WAITING_ACK)."""
    metadata = (tracker.latest_message or {}).get("metadata")
    if waiting_ack_due(tracker.events, time.time() if now is None else now, metadata):
        channel = tracker.get_latest_input_channel() or "rest"
        say_to_paused(tracker.sender_id, channel, WAITING_ACK, {"waiting_ack": True})


class ActionRequestHuman(Action):
    def name(self) -> Text:
        return "action_request_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        from actions.scope import answer_our_line  # scope -> handoff

        if answer_our_line(dispatcher, latest_text(tracker)):
            return []  # "你们有没有客服电话？我要直接打电话": the line; its text offers "转人工" (s6 H03)
        if not tracker.active_loop:
            from actions.tickets import answer_ticket_follow_up  # tickets -> handoff

            # "负责人是谁" (read as request_human) right after the ticket's progress: its owner.
            answered = await answer_ticket_follow_up(dispatcher, tracker)
            if answered is not None:
                return answered
        return await open_handoff(tracker, dispatcher, handoff_reason(tracker), tracker.get_slot("ticket_no"))


class ActionDefaultFallback(Action):
    """Rasa's core fallback (no rule or story fits), counted like ours: the second
    misunderstanding in a row offers a human. Reverts the message like Rasa's own. Outside a
    form the message is first offered to the router, as in action_fallback: a corrected
    booking number read as `deny` ("不是这个单，是TR…") fits no rule but has somewhere to go."""

    def name(self) -> Text:
        return "action_default_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        if not tracker.active_loop:
            from actions.router import route  # router -> reader -> handoff: imported when needed

            routed = route(dispatcher, tracker)
            if routed is not None:
                return routed
        offer = misunderstood_in_a_row(tracker) >= 2 and not tracker.active_loop
        dispatcher.utter_message(response="utter_offer_human" if offer else "utter_default")
        return [UserUtteranceReverted()]


class ActionFallback(Action):
    """utter_default; the second misunderstanding in a row offers a human agent."""

    def name(self) -> Text:
        return "action_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        if not tracker.active_loop:
            # A story or a new booking DIET could not place still has somewhere to go.
            from actions.router import route  # router -> reader -> handoff: imported when needed

            routed = route(dispatcher, tracker)
            if routed is not None:
                return routed
        loop = (tracker.active_loop or {}).get("name")
        if loop == "verify_form":
            from actions.refunds import keep_to_the_amount  # refunds -> handoff

            # "其实我就是想问问 还没决定" while a cancellation is verified: only the amount.
            kept = keep_to_the_amount(dispatcher, tracker)
            if kept is not None:
                return kept
        if loop == "verify_form":
            from actions.tickets import no_booking_number_in_verification  # tickets -> handoff

            # "订单号找不到了" (not understood) while the booking number is asked: asking it
            # again only loops. Where it is, and a person who finds the booking without it.
            helped = no_booking_number_in_verification(dispatcher, tracker)
            if helped is not None:
                return helped
        if loop in ("verify_form", "ticket_form") and _LEAVING.search(latest_text(tracker)):
            # "算了 谢谢啊 拜拜" while it asks for a number: the NLU hesitates between cancel,
            # thank and goodbye, but the traveller is leaving. Say goodbye, don't ask again.
            dispatcher.utter_message(response="utter_goodbye")
            return [ActiveLoop(None), SlotSet("requested_slot", None), FollowupAction("action_listen")]
        if misunderstood_in_a_row(tracker) >= 2:
            dispatcher.utter_message(response="utter_offer_human")
        else:
            dispatcher.utter_message(response="utter_default")
        return []


_LEAVING = re.compile(r"拜拜|再见|再會|再会|bye|回头再说|改天再说|下次再说|先这样吧?$", re.I)
