"""Ticket progress for the traveller who filed it (ticket number + phone digits)."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.cancel import complaint_in_progress
from actions.clients.ticketing import TicketingError, get_client
from actions.forms.base import latest_text
from actions.handoff import open_handoff
from actions.utils.parsing import parse_booking_ref, parse_ticket_no, to_simplified
from actions.utils.text import format_ticket_progress
from actions.verification import DigitsCheckingValidation


NOT_SUBMITTED = (
    "您的投诉还没有提交，提交后才会生成投诉单号，之后就可以用它查询处理进度。我们先把这条投诉填完并提交吧。"
)
UNANSWERED_HANDOVER = (
    "很抱歉让您等了这么久。没有投诉单号也没关系：我已把订单 {ref} 和“投诉后一直没人回复”的情况"
    "一起转给人工客服，客服会按订单查到您的投诉，优先跟进并告诉您处理进度。"
)
BY_BOOKING_OFFER = (
    "没有投诉单号也没关系。我这里不能按订单号查投诉，人工客服可以：订单 {ref} 已记下，转接后不用再提供。"
    "需要为您转接人工客服吗？"
)
HUMAN_BUTTONS = [
    {"title": "转人工", "payload": "/request_human"},
    {"title": "继续和机器人聊", "payload": "/deny"},
]
# The lookup's first message asked for a person too ("我要人工 投诉单C… 一直没人处理"): the
# progress first (it may already answer), then the handoff they asked for, at normal priority.
HANDOVER_AFTER_PROGRESS = (
    "以上是投诉单 {number} 的最新进度。您要求转人工客服，现在为您转接，"
    "客服能直接看到这张投诉单和上面的进度，不用再重复说明。"
)
CONFIRM_AGAIN = "请确认上面的投诉信息：确认无误请点“确认提交”，需要修改请直接告诉我要改的内容。"
CONFIRM_BUTTONS = [
    {"title": "确认提交", "payload": "/affirm"},
    {"title": "取消", "payload": "/cancel"},
]
# Set with the ticket number by action_submit_complaint (actions/complaint.py).
SUBMIT_ACTION = "action_submit_complaint"
# Named here, not only in data/rules/tickets.yml: a lookup that ends as it starts (a complaint
# still pending, the ticket just opened) goes to it straight away.
CHECK_ACTION = "action_check_ticket"


# "不记得号码了", "单号找不到了", "没有投诉单号": asking for the number again only loops.
_NO_NUMBER = re.compile(
    r"不记得|记不(?:得|清|住|起)|忘了|忘记|找不(?:到|着)|没(?:有)?(?:投诉)?(?:单号|编号|号码)"
    r"|不知道(?:投诉)?(?:单号|编号|号码)|(?:单号|编号|号码).{0,4}(?:丢|删|没了|没存|没记)|没收到"
)
# ...unless it is the phone digits they forgot ("尾号忘了"): that is the next question's business.
_PHONE_FORGOTTEN = re.compile(r"(?:尾号|后四位|后4位|手机|电话).{0,4}(?:不记得|记不|忘|找不)")
# verify_blocked while the traveller has no ticket number: the form ends (required_slots).
NO_TICKET_NO = "no_ticket_no"
# verify_blocked when a booking number came instead of the ticket number: the API reads no
# tickets by booking for the bot, an agent can; action_check_ticket hands over with it.
BY_BOOKING = "by_booking"
# "我投诉了好几天都没人理我": an earlier complaint left unanswered is escalated to a person at once.
_UNANSWERED = re.compile(
    r"没(?:有)?人(?:理|管|回|联系|处理|跟进|答复|搭理)|(?:不|没)(?:理|回复|答复|搭理)我"
    r"|没(?:有)?(?:回音|回复|答复|下文|动静|消息|结果)|石沉大海|一直没.{0,4}(?:处理|回复|联系|结果)"
)


# Asking for a person: "我要人工", "转人工", "找真人", "让你们经理…", "talk to a human"; not "不用转人工".
_HUMAN = re.compile(
    r"人工|真人|活人|(?:找|叫|让)(?:你们)?(?:的)?(?:经理|主管|负责人|领导)"
    r"|(?<![a-z])(?:human|real person|live agent|an agent|operator)(?![a-z])",
    re.I,
)
_NO_HUMAN = re.compile(r"(?:不用|不要|不需要|无需|不必|别)(?:再)?(?:转|找)?(?:接)?(?:人工|真人)")


def lookup_texts(tracker: Tracker) -> List[str]:
    """The traveller's messages of the current ticket lookup: the one that opened the ticket form
    (the last user message before its activation) and every one since."""
    events = list(tracker.events or [])
    start = next(
        (
            i
            for i in range(len(events) - 1, -1, -1)
            if events[i].get("event") == "active_loop" and events[i].get("name") == "ticket_form"
        ),
        len(events),
    )
    opener = next((i for i in range(start - 1, -1, -1) if events[i].get("event") == "user"), start)
    texts = [str(e.get("text") or "") for e in events[opener:] if e.get("event") == "user"]
    return texts or [latest_text(tracker)]


def asks_for_human(tracker: Tracker) -> bool:
    """The lookup's messages ask for a person as well as the ticket's progress."""
    texts = [to_simplified(text) for text in lookup_texts(tracker)]
    return any(_HUMAN.search(text) and not _NO_HUMAN.search(text) for text in texts)


def has_no_ticket_number(tracker: Tracker) -> bool:
    """The traveller says they do not have or remember the ticket number, while it is missing."""
    text = to_simplified(latest_text(tracker))
    if tracker.get_slot("ticket_no") or parse_ticket_no(text) or _PHONE_FORGOTTEN.search(text):
        return False
    return bool(_NO_NUMBER.search(text))


def booking_instead(tracker: Tracker) -> Optional[str]:
    """The booking number a traveller gives for their complaint without its ticket number: in
    the same message ("没人理我！订单TR20260007"), or known when they say they have no number."""
    text = latest_text(tracker)
    ref = tracker.get_slot("booking_ref")
    if not ref or tracker.get_slot("ticket_no") or parse_ticket_no(text):
        return None
    return ref if parse_booking_ref(text) == ref or has_no_ticket_number(tracker) else None


def ticket_created_here(tracker: Tracker) -> Optional[str]:
    """The number of the ticket this conversation opened last (set by the submit action)."""
    events = list(tracker.events or [])
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if event.get("event") == "slot" and event.get("name") == "ticket_no" and event.get("value"):
            action = next(
                (e.get("name") for e in reversed(events[:index]) if e.get("event") == "action"), None
            )
            if action == SUBMIT_ACTION:
                return event["value"]
    return None


def _own_new_ticket(tracker: Tracker) -> Optional[str]:
    """The ticket just created here, when the traveller asks about it without a number (the
    number asked about is that one, and the phone given for it is known)."""
    created = ticket_created_here(tracker)
    if created and tracker.get_slot("ticket_no") in (None, created) and tracker.get_slot("phone"):
        return created
    return None


def complaint_form_was_active(tracker: Tracker) -> bool:
    """The complaint form was asking when the latest message came (another form took over since)."""
    seen_user = False
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            seen_user = True
        elif seen_user and event.get("event") == "active_loop":
            return event.get("name") == "complaint_form"
    return False


class ValidateTicketForm(DigitsCheckingValidation):
    what = "ticket"
    number_slot = "ticket_no"

    def name(self) -> Text:
        return "validate_ticket_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        pending = complaint_in_progress(tracker) or complaint_form_was_active(tracker)
        if pending and not parse_ticket_no(latest_text(tracker)):
            # "我的投诉进度怎么样了" while the complaint is still being filled or confirmed: it has
            # no number yet. The lookup ends here; action_check_ticket asks the pending step again.
            dispatcher.utter_message(text=NOT_SUBMITTED)
            return [SlotSet("requested_slot", None), ActiveLoop(None), FollowupAction(CHECK_ACTION)]
        if not _own_new_ticket(tracker) and booking_instead(tracker):
            # Asking for a ticket number they did not give (or do not have) only loops; the
            # booking number finds their complaints through an agent (action_check_ticket).
            return [SlotSet("verify_blocked", BY_BOOKING), SlotSet("requested_slot", None)]
        if not _own_new_ticket(tracker) and has_no_ticket_number(tracker):
            # Where the number is, and a person who can find the ticket without it; the form ends
            # (action_check_ticket follows and, nothing verified, says nothing more).
            dispatcher.utter_message(response="utter_ticket_no_where")
            dispatcher.utter_message(response="utter_offer_human")
            return [SlotSet("verify_blocked", NO_TICKET_NO), SlotSet("requested_slot", None)]
        events = await super().run(dispatcher, tracker, domain)
        if _own_new_ticket(tracker):
            # Ends at once (required_slots): the progress follows now, whichever rule matches.
            events.append(FollowupAction(CHECK_ACTION))
        return events

    async def required_slots(
        self,
        domain_slots: List[Text],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[Text]:
        if tracker.get_slot("verify_blocked"):
            return []  # locked or the API is down: action_check_ticket says what next
        if _own_new_ticket(tracker):
            return []  # the ticket just opened here: its number and phone are known
        return domain_slots

    async def validate_ticket_no(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        number = parse_ticket_no(value) or parse_ticket_no(latest_text(tracker))
        if not number:
            return self.reject("ticket_no", "utter_invalid_ticket_no", dispatcher, tracker)
        return await self.check_held_digits(self.accept("ticket_no", number), dispatcher, tracker)


class ActionCheckTicket(Action):
    def name(self) -> Text:
        return CHECK_ACTION

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        reset: List[EventType] = [SlotSet("phone_last4", None), SlotSet("verify_blocked", None)]
        if tracker.get_slot("complaint_confirming"):
            # Asked about progress at the summary: the progress (if a number was given) and the
            # confirmation again, so the complaint is not lost.
            pending = await self._progress(dispatcher, tracker, reset, own_ok=False)
            return pending + self._confirm_again(dispatcher)
        if complaint_form_was_active(tracker):
            # Back to the complaint form, which asks its pending question again.
            pending = await self._progress(dispatcher, tracker, reset, own_ok=False)
            return pending + [ActiveLoop("complaint_form")]
        return await self._progress(dispatcher, tracker, reset, hand_over=True)

    @staticmethod
    def _confirm_again(dispatcher: CollectingDispatcher) -> List[EventType]:
        dispatcher.utter_message(text=CONFIRM_AGAIN, buttons=CONFIRM_BUTTONS)
        return []

    async def _progress(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        reset: List[EventType],
        own_ok: bool = True,
        hand_over: bool = False,
    ) -> List[EventType]:
        """`hand_over`: no complaint is pending, so a person asked for in the lookup's messages
        is handed the conversation after the progress."""
        # While another complaint is pending, only a number given is looked up.
        own = _own_new_ticket(tracker) if own_ok else None
        if own:
            # The ticket opened in this conversation: the phone given for it proves it.
            digits = str(tracker.get_slot("phone"))[-4:]
            return await self._show(dispatcher, tracker, own, digits, reset, hand_over)
        if tracker.get_slot("verify_blocked") == BY_BOOKING:
            return reset + await self._by_booking(dispatcher, tracker)
        if tracker.get_slot("verify_blocked") == "locked":
            # Locked by misses: a person can still help, so queue one now.
            return reset + await open_handoff(
                tracker,
                dispatcher,
                "form_failures",
                extra_summary={"verify_locked": tracker.get_slot("ticket_no")},
            )
        number = tracker.get_slot("verified_ticket")
        if (
            not number
            or not tracker.get_slot("phone_last4")
            or tracker.get_slot("ticket_no") not in (None, number)
        ):
            return reset  # not verified: already said why
        return await self._show(
            dispatcher, tracker, number, tracker.get_slot("phone_last4"), reset, hand_over
        )

    @staticmethod
    async def _by_booking(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
        """No ticket number, a booking number: an agent finds the complaints of the booking (the
        bot cannot). Left unanswered for days, it is handed over now; else a person is offered."""
        ref = tracker.get_slot("booking_ref")
        digits, verified = tracker.get_slot("phone_last4"), False
        if digits:
            try:  # checked when given, so the agent knows whether the caller proved the booking
                await get_client().verify_booking(
                    ref, digits, tracker.sender_id, tracker.get_latest_input_channel() or "rest"
                )
                verified = True
            except TicketingError:
                verified = False
        if _UNANSWERED.search(to_simplified(latest_text(tracker))):
            dispatcher.utter_message(text=UNANSWERED_HANDOVER.format(ref=ref))
            note = {
                "ticket_lookup_by_booking": ref,
                "booking_verified": verified,
                "complaint_unanswered": True,
            }
            return await open_handoff(tracker, dispatcher, "request_human", extra_summary=note)
        dispatcher.utter_message(text=BY_BOOKING_OFFER.format(ref=ref), buttons=HUMAN_BUTTONS)
        return []

    @staticmethod
    async def _show(
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        number: str,
        digits: str,
        reset: List[EventType],
        hand_over: bool = False,
    ) -> List[EventType]:
        try:
            # The traveller's view (progress, nothing personal); the API escalates an overdue ticket here.
            ticket = await get_client().verify_ticket(number, digits, tracker.sender_id)
        except TicketingError:
            dispatcher.utter_message(response="utter_service_unavailable")
            return reset
        dispatcher.utter_message(text=format_ticket_progress(ticket))
        if hand_over and asks_for_human(tracker):
            dispatcher.utter_message(text=HANDOVER_AFTER_PROGRESS.format(number=number))
            return reset + await open_handoff(tracker, dispatcher, "request_human", number)
        return reset
