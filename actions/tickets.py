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
from actions.forms.base import latest_text, previous_reply
from actions.handoff import open_handoff
from actions.utils.parsing import (
    FULLWIDTH,
    parse_booking_ref,
    parse_phone,
    parse_phone_last4,
    parse_ticket_no,
    to_simplified,
)
from actions.utils.reading import says_no_booking
from actions.utils.text import format_ticket_progress, format_time
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


# --- A lookup verified in this conversation (s6 T01, T06) -------------------------------------
# "什么时候能处理完", "谁负责我的投诉" right after the progress: the ticket was proved with its
# digits a moment ago; asking them again reads as if the bot forgot. The digits are not kept in
# phone_last4 (action_check_ticket clears it: a booking check may ask for another phone's), so
# they are found where the check set them, beside verified_ticket.
_ASKS_WHEN = re.compile(r"什么时候|何时|多久|多长时间|几天|哪天|预计|期限|时限|截止|要等")
_ASKS_WHO = re.compile(r"谁(?:在)?(?:负责|处理|跟进|管)|负责人|经办人|跟进人|处理人|对接人")


def verified_ticket_digits(tracker: Tracker) -> Optional[str]:
    """The phone digits that proved `verified_ticket` in this conversation, if any."""
    number = tracker.get_slot("verified_ticket")
    if not number:
        return None
    found: Optional[str] = None
    batch: Dict[str, Any] = {}
    for event in list(tracker.events or []) + [{"event": "user"}]:
        if event.get("event") == "user":
            if batch.get("verified_ticket") == number and batch.get("phone_last4"):
                found = str(batch["phone_last4"])
            batch = {}
        elif event.get("event") == "session_started":
            found, batch = None, {}
        elif event.get("event") == "slot" and event.get("value"):
            batch[event.get("name")] = event.get("value")
    return found


def follows_up_verified(tracker: Tracker) -> Optional[str]:
    """The digits to reuse when this lookup asks again about the ticket verified in this
    conversation (no other ticket number given); None otherwise."""
    number = tracker.get_slot("verified_ticket")
    given = parse_ticket_no(latest_text(tracker))
    if not number or given not in (None, number) or tracker.get_slot("ticket_no") not in (None, number):
        return None
    return verified_ticket_digits(tracker)


def focused_progress(ticket: Dict[str, Any], text: str) -> Optional[str]:
    """The one line of the progress a follow-up asks for ("什么时候能处理完": the expected
    completion; "谁负责": the owner); None when it asks for the whole of it."""
    progress = ticket.get("progress") or {}
    simple = to_simplified(text or "")
    lines: List[str] = []
    if _ASKS_WHEN.search(simple) and progress.get("expected_completion"):
        lines.append(f"预计完成时间：{format_time(progress['expected_completion'])}")
        if progress.get("delay_reason"):
            lines.append(f"未能按期完成的原因：{progress['delay_reason']}")
    if _ASKS_WHO.search(simple) and progress.get("responsible_person"):
        lines.append(f"负责人：{progress['responsible_person']}，从受理到结案都由这位负责人跟进")
    if not lines:
        return None
    head = f"投诉单 {ticket['ticket_no']}（当前状态：{progress.get('status_label') or '处理中'}）"
    return head + "\n" + "。\n".join(lines) + "。"


# --- Phone digits given bare beside the ticket number (s6 T08) --------------------------------
# "C20261207007 我的投诉进度 3344 另外…": four digits standing alone next to a ticket number are
# the phone's last four (no other number is asked in a lookup); not a year, an amount, a count.
_BARE_FOUR = re.compile(r"(?<![\dA-Za-z])(\d{4})(?!\d|\s*(?:年|元|块|米|人|号|次|分|点|月|日|天|个|位|%|％))")


_TICKET_LIKE = re.compile(r"[Cc][\s-]?\d[\d-]{7,}")


def bare_digits_beside_number(text: str) -> Optional[str]:
    """The four digits of a message that gives a ticket number and exactly one lone group of
    four digits besides it."""
    half = text or ""
    number = parse_ticket_no(half)
    if not number or parse_phone(half):
        return None
    rest = _TICKET_LIKE.sub(" ", half.translate(FULLWIDTH))
    groups = _BARE_FOUR.findall(rest)
    return groups[0] if len(groups) == 1 else None


# --- Personal information asked beside the lookup (s6 T08) -------------------------------------
_ASKS_PRIVACY = re.compile(
    r"(?:删|删除|注销|清除|泄露|泄漏|保护|怎么用|用来|卖).{0,6}(?:我的)?(?:个人)?(?:信息|资料|数据|隐私|手机号|电话)"
    r"|(?:个人信息|隐私|我的(?:信息|资料|数据)).{0,6}(?:删|删除|注销|清除|泄露|泄漏|安全|保护|怎么处理|会不会)"
)
PRIVACY_NOTE = (
    "关于您的个人信息：投诉时登记的姓名和手机号仅用于处理这次投诉和回访，加密保存，只有处理您投诉的"
    "工作人员可以查看，不会用于其他用途。如需查询或删除这些信息，可以说“转人工”，由人工客服为您办理。"
)


def asks_about_personal_data(tracker: Tracker) -> bool:
    """A message of this lookup asks what became of their personal information."""
    return any(_ASKS_PRIVACY.search(to_simplified(text)) for text in lookup_texts(tracker))


# --- No booking number while a booking is asked for (s6 I15) -----------------------------------
# "我没有订单号 忘了" (read as check_ticket) while the itinerary verification asks for the
# booking number: where the booking number is and a person who can find it, not the ticket's.
_BOOKING_WORDS = re.compile(r"订单|预订号|预定号|booking|行程单", re.I)
_TICKET_WORDS = re.compile(r"投诉|C\d|单号.{0,2}以\s*C", re.I)
BOOKING_NO_WHERE = (
    "订单号是预订成功后发给您的编号，以 TR 开头加 8 位数字（例如 TR20260001），可以在预订确认信息"
    "或订单详情里找到。实在找不到也没关系，人工客服可以按您的姓名和手机号帮您查到订单。"
    "需要为您转接人工客服吗？"
)


def booking_number_missing(tracker: Tracker) -> bool:
    """The traveller says they have no booking number (not the ticket number)."""
    text = to_simplified(latest_text(tracker))
    if _TICKET_WORDS.search(text) or parse_ticket_no(text) or _PHONE_FORGOTTEN.search(text):
        return False
    if says_no_booking(text) and (_BOOKING_WORDS.search(text) or "单号" not in text):
        return True  # "我没有订单号", "是朋友帮我报的名"
    return bool(_BOOKING_WORDS.search(text) and _NO_NUMBER.search(text))


def tell_where_the_booking_number_is(dispatcher: CollectingDispatcher) -> None:
    dispatcher.utter_message(text=BOOKING_NO_WHERE, buttons=HUMAN_BUTTONS)


# --- A full phone number after "no number" (s6 T07) ---------------------------------------------
PHONE_HANDOVER = (
    "收到，手机号 {masked} 已记下。我这里不能按手机号查询，已为您转给人工客服："
    "客服会按这个手机号查到您的{what}，核实身份后告诉您结果，您不用再重复提供。"
)


def number_missing_answered(tracker: Tracker) -> Optional[str]:
    """ "ticket" or "booking" when the bot's previous reply said where that number is and
    offered a person (the traveller had none)."""
    for event in previous_reply(tracker):
        if (event.get("metadata") or {}).get("utter_action") == "utter_ticket_no_where":
            return "ticket"
        text = event.get("text") or ""
        if text.startswith("投诉单号是您提交投诉时"):
            return "ticket"
        if text == BOOKING_NO_WHERE:
            return "booking"
    return None


async def hand_over_by_phone(dispatcher: CollectingDispatcher, tracker: Tracker) -> Optional[List[EventType]]:
    """A full phone number sent right after the traveller was told a person can look them up
    without the number ("投诉单号忘了" … "我手机13698765432"): handed over with it; None when
    the message is no such answer. For action_route_message (actions/router.py)."""
    phone = parse_phone(latest_text(tracker))
    what = number_missing_answered(tracker) if phone else None
    if not phone or not what or parse_ticket_no(latest_text(tracker)):
        return None
    thing = "投诉和处理进度" if what == "ticket" else "订单"
    dispatcher.utter_message(text=PHONE_HANDOVER.format(masked=f"{phone[:3]}****{phone[-4:]}", what=thing))
    note = {f"{what}_lookup_by_phone": phone}
    return [SlotSet("phone", phone)] + await open_handoff(
        tracker, dispatcher, "request_human", extra_summary=note
    )


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
        if not _own_new_ticket(tracker) and booking_number_missing(tracker):
            # "我没有订单号 忘了" (read as a ticket question) while a booking was asked for: where
            # the booking number is and a person who finds the booking without it; form ends.
            tell_where_the_booking_number_is(dispatcher)
            return [SlotSet("verify_blocked", NO_TICKET_NO), SlotSet("requested_slot", None)]
        if not _own_new_ticket(tracker) and has_no_ticket_number(tracker):
            # Where the number is, and a person who can find the ticket without it; the form ends
            # (action_check_ticket follows and, nothing verified, says nothing more).
            dispatcher.utter_message(response="utter_ticket_no_where")
            dispatcher.utter_message(response="utter_offer_human")
            return [SlotSet("verify_blocked", NO_TICKET_NO), SlotSet("requested_slot", None)]
        again = None if _own_new_ticket(tracker) else follows_up_verified(tracker)
        if again:
            # A follow-up on the ticket verified a moment ago: its digits again, nothing asked.
            return [
                SlotSet("phone_last4", again),
                SlotSet("requested_slot", None),
                FollowupAction(CHECK_ACTION),
            ]
        bare = None if tracker.get_slot("phone_last4") else bare_digits_beside_number(latest_text(tracker))
        if bare and "phone_last4" not in tracker.slots_to_validate():
            # "C20261207007 我的投诉进度 3344": the lone four digits are the phone's; checked now.
            tracker.events.append({"event": "slot", "name": "phone_last4", "value": bare})
            tracker.slots["phone_last4"] = bare
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
        if follows_up_verified(tracker):
            return []  # verified in this conversation: the digits are known
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
        focused = focused_progress(ticket, latest_text(tracker)) if _shown_before(tracker, number) else None
        dispatcher.utter_message(text=focused or format_ticket_progress(ticket))
        if asks_about_personal_data(tracker) and not _privacy_said(tracker):
            dispatcher.utter_message(text=PRIVACY_NOTE)
        if hand_over and asks_for_human(tracker):
            dispatcher.utter_message(text=HANDOVER_AFTER_PROGRESS.format(number=number))
            return reset + await open_handoff(tracker, dispatcher, "request_human", number)
        return reset


def _shown_before(tracker: Tracker, number: str) -> bool:
    """The progress of ticket `number` was shown earlier in this conversation."""
    return any(
        e.get("event") == "bot" and (e.get("text") or "").startswith(f"投诉单 {number} ")
        for e in tracker.events or []
    )


def _privacy_said(tracker: Tracker) -> bool:
    return any(e.get("event") == "bot" and e.get("text") == PRIVACY_NOTE for e in tracker.events or [])


# "负责人电话多少", "怎么联系负责人": a way to reach someone, which a person gives.
_ASKS_CONTACT = re.compile(r"电话|手机|联系|微信|号码")


async def answer_ticket_follow_up(
    dispatcher: CollectingDispatcher, tracker: Tracker
) -> Optional[List[EventType]]:
    """ "负责人是谁", "那预计什么时候完成" after the progress of the ticket verified in this
    conversation, whatever the NLU read (request_human, out_of_scope, a policy question): that
    line of the progress, nothing asked again. None when the message is no such follow-up."""
    text = latest_text(tracker)
    digits = follows_up_verified(tracker)
    number = tracker.get_slot("verified_ticket")
    simple = to_simplified(text)
    if not digits or not _shown_before(tracker, number) or _ASKS_CONTACT.search(simple):
        return None
    if not (_ASKS_WHEN.search(simple) or _ASKS_WHO.search(simple)):
        return None
    if _HUMAN.search(simple) and not _NO_HUMAN.search(simple):
        return None  # "负责人是谁 我要找人工": the person they asked for
    try:
        ticket = await get_client().verify_ticket(number, digits, tracker.sender_id)
    except TicketingError:
        return None
    dispatcher.utter_message(text=focused_progress(ticket, text) or format_ticket_progress(ticket))
    return []


# "5678 我刚才说了", "我不是说了吗 5678": the digits, with a complaint that they were given already;
# read as cancel or deny. Not when the words stop the lookup ("5678 算了不查了").
_STOPS = re.compile(r"算了|取消|不查|不用|不要|别查|不想|停|结束|退出|不需要")


def digits_not_a_cancel(tracker: Tracker) -> Optional[str]:
    """The phone digits of a message read as `cancel` (or `deny`) while a verification asks for
    them; None when it is no such answer. For action_cancel_form (actions/cancel.py)."""
    loop = (tracker.active_loop or {}).get("name")
    if loop not in ("ticket_form", "verify_form") or tracker.get_slot("requested_slot") != "phone_last4":
        return None
    text = to_simplified(latest_text(tracker))
    if _STOPS.search(text):
        return None
    return parse_phone_last4(text)


async def digits_instead_of_cancel(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
) -> Optional[List[EventType]]:
    """ "3344 我刚才说了" read as `cancel` while the ticket (or booking) verification asks the
    digits: they are checked as the form would (the form validates nothing after another
    action), then the form goes on: done, it ends and its rule shows the progress; a mismatch
    was said and it asks again. None when the message is no such answer.
    For action_cancel_form (actions/cancel.py), before anything is stopped."""
    digits = digits_not_a_cancel(tracker)
    if not digits:
        return None
    loop = (tracker.active_loop or {}).get("name")
    from actions.verification import ValidateVerifyForm  # tickets already imports verification

    form = ValidateTicketForm() if loop == "ticket_form" else ValidateVerifyForm()
    tracker.events.append({"event": "slot", "name": "phone_last4", "value": digits})
    tracker.slots["phone_last4"] = digits
    events = await form.run(dispatcher, tracker, domain)
    return [SlotSet("phone_last4", digits)] + events + [FollowupAction(loop)]


def no_booking_number_in_verification(
    dispatcher: CollectingDispatcher, tracker: Tracker
) -> Optional[List[EventType]]:
    """ "我没有订单号" (read as deny, cancel, out_of_scope or not understood) while the booking
    verification asks the booking number: asking again only loops, and "the lookup stopped"
    leaves them nowhere. Where the number is and a person who finds the booking without it; the
    verification ends. None when the message is no such answer. For action_fallback, and the
    hooks in action_cancel_form (actions/cancel.py) and action_out_of_scope (actions/scope.py)."""
    asking = (tracker.active_loop or {}).get("name") == "verify_form" and tracker.get_slot(
        "requested_slot"
    ) in (None, "booking_ref")
    if not asking or tracker.get_slot("booking_ref") or not booking_number_missing(tracker):
        return None
    tell_where_the_booking_number_is(dispatcher)
    return [ActiveLoop(None), SlotSet("requested_slot", None), FollowupAction("action_listen")]
