"""The complaint form: collect, summarise with the predicted category, confirm, open a ticket."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecutionRejected, ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.cancel import reset_complaint, stop_form
from actions.clients.ticketing import Rejected, TicketingError, Unavailable, get_client
from actions.fields import FIELDS, NOT_GIVEN, REQUEST_LABELS, REQUEST_TEXT_SLOT
from actions.forms.base import (
    CountingFormValidation,
    count_failure,
    latest_intent,
    latest_text,
    previous_slot_value,
)
from actions.forms.change_of_mind import other_question, take_up
from actions.forms.complaint_checks import (
    check_complainant_name,
    check_complaint_description,
    check_complaint_request,
    check_complaint_when_where,
    check_phone,
    offered_when_where,
)
from actions.emergency import complaint_about_past_trip
from actions.handoff import open_handoff
from actions.questions import answer_side_questions
from actions.utils.parsing import mask_phone
from actions.utils.reading import DONT_KNOW, consent_in, says_no_booking, trip_cancellation_only
from actions.utils.text import format_ticket_created

logger = logging.getLogger(__name__)

_URL = re.compile(r"https?://\S+")
# Said instead of the consent question right after a first refusal: what is kept and how to go on.
CONSENT_KEPT = (
    "理解您的顾虑。没有联系方式我们无法跟进投诉，已填写的内容先为您保留："
    "愿意登记的话回复“同意”就可以接着填；不想登记了请回复“取消”，也可以回复“转人工”由客服为您处理。"
)


class ActionPrefillComplaint(Action):
    """Starts a complaint; what the first message carried is already in the slots
    (`action_read_message`), so it only keeps the verified booking and any links."""

    def name(self) -> Text:
        return "action_prefill_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        from actions.router import misread_as_complaint  # router -> reader -> complaint

        question = other_question(latest_text(tracker))
        if question is not None:
            # "我要投诉 不对 我是想问下 导游电话": taken back at once; the question is what they want,
            # and nothing read from the message is a complaint's value.
            return undo_read_now(tracker) + await take_up(dispatcher, tracker, question)
        routed = misread_as_complaint(dispatcher, tracker)
        if routed is not None:
            # Answered as what it is (a follow-up to the last answer, a meal question): the
            # rule's complaint form must not open after it.
            if not any(e.get("event") == "followup" for e in routed):
                routed.append(FollowupAction("action_listen"))
            return routed
        events: List[EventType] = [SlotSet("form_failures", 0.0), SlotSet("cancel_pending", None)]
        if not tracker.get_slot("booking_ref") and tracker.get_slot("verified_booking"):
            events.append(SlotSet("booking_ref", tracker.get_slot("verified_booking")))
        urls = _URL.findall(latest_text(tracker))
        if urls:
            events.append(SlotSet("complaint_evidence", urls[:20]))
        dispatcher.utter_message(response="utter_complaint_start")
        return events + await answer_side_questions(dispatcher, tracker, primary=False)


def undo_read_now(tracker: Tracker) -> List[EventType]:
    """The complaint's values read from the latest message, set back to what they were."""
    read_now: List[Text] = []
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            break
        name = event.get("name")
        if event.get("event") == "slot" and name in FIELD_SLOTS and name not in read_now:
            read_now.append(name)
    return [SlotSet(slot, previous_slot_value(tracker, slot)) for slot in read_now]


# The booking number is the traveller's whatever they ask: verification uses it too.
FIELD_SLOTS = {f.slot for f in FIELDS if f.slot != "booking_ref"} | {REQUEST_TEXT_SLOT}


class ActionAskComplaintWhenWhere(Action):
    """Asks when and where; a date or place the story named is offered as a button,
    never taken for granted ("晚上" or "酒店" alone is not a time and place)."""

    def name(self) -> Text:
        return "action_ask_complaint_when_where"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        # Only a date is worth offering ("车上" alone is no answer), and never right after
        # the traveller said the time and place (or the guess) were wrong; after correcting
        # another field ("名字写错了，是李思") the question is asked again as it was.
        guess = offered_when_where(tracker) if not _doubts_when_where(tracker) else None
        if not guess:
            dispatcher.utter_message(response="utter_ask_complaint_when_where")
            return []
        payload = "/inform" + json.dumps({"complaint_when_where": guess}, ensure_ascii=False)
        dispatcher.utter_message(
            response="utter_ask_complaint_when_where_guess",
            guess=guess,
            buttons=[{"title": f"是的，{guess}", "payload": payload}],
        )
        return []


def _doubts_when_where(tracker: Tracker) -> bool:
    """The latest message says the time and place, or the offered guess, is wrong."""
    intent = latest_intent(tracker)
    if intent == "deny":
        # "不是" to the guess; not "不" to "确定放弃吗？", after which the question is asked again.
        return not _resumed(tracker)
    if intent != "correct":
        return False
    from actions.correction import parse_correction  # correction -> complaint: no cycle

    field, _ = parse_correction(latest_text(tracker), tracker.slots)
    return field in (None, "complaint_when_where")


def _resumed(tracker: Tracker) -> bool:
    """The complaint was resumed after the latest message (the traveller kept it)."""
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            return False
        if event.get("event") == "action" and event.get("name") == "action_resume_complaint":
            return True
    return False


class ActionAskComplaintConsent(Action):
    """Asks for consent; asked again (the traveller gave a name, asked something else, wrote
    neither yes nor no), it says in one line what answer is needed instead of repeating the
    whole notice."""

    def name(self) -> Text:
        return "action_ask_complaint_consent"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        # The form sets requested_slot after this action: still "complaint_consent" means the
        # notice was shown the turn before.
        # After a correction ("名字写错了…") the question is asked again as it was.
        # Asked before this message, not "requested now": a form with its own required slots
        # (no booking number) sets requested_slot before this action runs.
        again = (
            previous_slot_value(tracker, "requested_slot") == "complaint_consent"
            and latest_intent(tracker) != "correct"
        )
        if again and consent_in(latest_text(tracker), latest_intent(tracker)) is False:
            # Refused a first time (validate_complaint_consent kept the form here): what happens
            # without consent, that nothing is lost, and how to go on or stop, in one message.
            dispatcher.utter_message(text=CONSENT_KEPT, buttons=CONSENT_KEPT_BUTTONS)
            return []
        dispatcher.utter_message(
            response="utter_ask_complaint_consent_again" if again else "utter_ask_complaint_consent"
        )
        return []


class ValidateComplaintForm(CountingFormValidation):
    # rasa-sdk calls `validate_<slot>` by name (booking_ref's comes from the base class); a
    # correction runs the same checks (actions/forms/complaint_checks.py).
    validate_complaint_description = staticmethod(check_complaint_description)
    validate_complaint_when_where = staticmethod(check_complaint_when_where)
    validate_complaint_request = staticmethod(check_complaint_request)
    validate_complainant_name = staticmethod(check_complainant_name)
    validate_phone = staticmethod(check_phone)

    def validate_complaint_consent(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value is False and not consent_refused_before(tracker):
            # A first "不同意" does not end the complaint: the form stays at this question with
            # everything kept, so "那好吧 我同意" later goes on (any words the reader takes as a
            # yes); a second refusal ends it (action_complaint_summary says so).
            return {"complaint_consent": None}
        return {"complaint_consent": value}

    def name(self) -> Text:
        return "validate_complaint_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        media = ((tracker.latest_message or {}).get("metadata") or {}).get("wechat_media")
        if media:
            # A photo sent during the form is evidence, not an answer to the question asked.
            evidence = list(tracker.get_slot("complaint_evidence") or [])
            evidence.append(media.get("media_id") or media.get("pic_url") or "")
            dispatcher.utter_message(response="utter_evidence_received")
            requested = tracker.get_slot("requested_slot")
            events: List[EventType] = [SlotSet("complaint_evidence", [e for e in evidence if e][:20])]
            if requested:
                events.append(SlotSet(requested, None))  # "[图片]" must not fill it: ask again
            return events
        if latest_intent(tracker) == "emergency" and _validates_the_message(tracker):
            if not complaint_about_past_trip(tracker, None):
                # "TR20260005 我们现在被困在机场了…" at the number question: the number the reader
                # took from it makes Rasa run the form, and a value extracted means Rasa refuses
                # nothing, so the rule for an emergency inside the form never fires. The form
                # refuses the message itself: that rule runs action_emergency (which still goes
                # back to this form for a complaint about a trip that is over).
                return [ActionExecutionRejected(self.form_name())]
        if cancels_the_trip(tracker) or turns_to_another_question(tracker):
            # "算了，这个团我也不想去了，直接退团吧" or "算了我先查下行程" read as the story: it is no
            # answer. The form stops with what it holds kept, and the cancellation or the question
            # is taken up (action_cancel_form).
            read_now = [s for s in tracker.slots_to_validate() if s != "requested_slot"]
            return [SlotSet(s, previous_slot_value(tracker, s)) for s in read_now] + [
                ActiveLoop(None),
                FollowupAction("action_cancel_form"),
            ]
        if _starting(tracker, self.form_name()):
            # Checked below like any value read from a message (the form's one rule for each field).
            for slot, value in story_told_before(tracker).items():
                tracker.events.append({"event": "slot", "name": slot, "value": value})
                tracker.slots[slot] = value
        text = latest_text(tracker).strip()
        if (
            tracker.get_slot("requested_slot") == "complaint_when_where"
            and "complaint_when_where" not in tracker.slots_to_validate()
            and DONT_KNOW.match(text)
        ):
            # "想不起来了" read as `deny` or `cancel` is still the answer: checked as if read for
            # the question (its check records "未说明"), so the form goes on instead of refusing.
            tracker.events.append({"event": "slot", "name": "complaint_when_where", "value": text})
            tracker.slots["complaint_when_where"] = text
        events = await super().run(dispatcher, tracker, domain)
        if not tracker.get_slot("booking_ref") and says_no_booking(latest_text(tracker)):
            if not no_booking_said(tracker, before_latest=True):
                # A way on instead of the same question again (G04): the name and phone asked
                # later find the booking; a human can help too.
                dispatcher.utter_message(text=NO_BOOKING_WAY_ON)
            # Something set, so the form is not refused for "我没有订单号" alone.
            events.append(SlotSet("booking_ref", None))
        elif answered_nothing(tracker, events):
            # "OK" at the request's buttons, "不同意" before consent was asked, words the NLU
            # could not place: no rule of this form takes them, so refusing the message here
            # would end in Rasa's generic "没太明白…想查行程、问政策还是投诉". The form asks
            # its question again instead (a human offered from the second time in a row).
            events.append(SlotSet("form_failures", count_failure(dispatcher, tracker)))
        return events

    def leave_for_another_question(
        self, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> List[EventType]:
        # The question was answered; the complaint is not dropped on a change of mind, only set
        # aside ("继续投诉" takes it up again).
        dispatcher.utter_message(response="utter_complaint_kept")
        return stop_form() + [
            SlotSet("complaint_confirming", None),
            SlotSet("cancel_pending", None),
            FollowupAction("action_listen"),
        ]

    async def required_slots(
        self,
        domain_slots: List[Text],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[Text]:
        if tracker.get_slot("complaint_consent") is False and consent_refused_before(tracker):
            return []  # refused twice: stop asking; the summary action explains
        if not tracker.get_slot("booking_ref") and no_booking_said(tracker):
            return [slot for slot in domain_slots if slot != "booking_ref"]
        return domain_slots


# Messages no rule of the complaint form takes when they answer nothing (data/rules: the form's
# interruptions take the others: policy, out_of_scope, cancel, correct, goodbye...).
_NO_RULE_INTENTS = {"affirm", "deny", "nlu_fallback"}
# What runs between a message and the form's validation of it (a message read, nothing else).
_READING_ACTIONS = {"action_listen", "action_read_message", "action_extract_slots", "complaint_form"}


def answered_nothing(tracker: Tracker, events: List[EventType]) -> bool:
    """The latest message, a yes, a no or not understood, was read as no value for the question
    the complaint form asked (and no other action took it first)."""
    if (tracker.active_loop or {}).get("name") != "complaint_form" or not tracker.get_slot("requested_slot"):
        return False
    if latest_intent(tracker) not in _NO_RULE_INTENTS:
        return False
    if any(e.get("event") == "slot" and e.get("name") != "requested_slot" for e in events):
        return False
    return _validates_the_message(tracker)


def _validates_the_message(tracker: Tracker) -> bool:
    """The active form validates the latest message, read and nothing else done with it: not
    the form coming back after another action (a policy answer, a resume, action_emergency),
    nor the form starting."""
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            return True
        if event.get("event") == "active_loop" and event.get("name"):
            return False  # activated after the message
        if event.get("event") == "action" and event.get("name") not in _READING_ACTIONS:
            return False
    return False


def _starting(tracker: Tracker, form: Text) -> bool:
    """The form is being activated (Rasa validates what was given before it asks anything).
    Rasa sends that validation a tracker that already holds the form's activation (its
    `active_loop` event, then the form's action): the form is starting when it was activated
    after the latest message, not when no form is active."""
    if (tracker.active_loop or {}).get("name") != form:
        return True
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            return False
        if event.get("event") == "active_loop" and event.get("name") == form:
            return True
    return False


# Actions that end a complaint: a story told before them belongs to that one.
_COMPLAINT_ENDS = {"action_submit_complaint", "action_drop_complaint", "action_session_start"}


def story_told_before(tracker: Tracker) -> Dict[Text, Any]:
    """What a story told earlier in the conversation, and answered with a policy then, says for
    the complaint starting now ("行李丢了…航空公司说找不到" got the baggage rules; "10月14日 三亚
    凤凰机场" started the complaint): read as the first message of a complaint is read, for the
    fields the complaint has no value for yet. Empty once the complaint has its description."""
    if tracker.get_slot("complaint_description"):
        return {}
    from actions.reader import complaint_slots_of  # reader -> emergency -> complaint: no cycle
    from actions.router import tells_a_story

    stories: List[str] = []
    answered_by_policy = False
    latest = True
    for event in reversed(tracker.events or []):
        kind, name = event.get("event"), event.get("name")
        if kind == "action" and name in _COMPLAINT_ENDS:
            break
        if kind == "action" and name == "action_answer_policy":
            answered_by_policy = True
        elif kind == "user":
            story = _without_questions(event)
            if answered_by_policy and not latest and tells_a_story(story):
                stories.insert(0, story)
            answered_by_policy = latest = False
    if not stories:
        return {}
    slots = complaint_slots_of(tracker, "\n".join(stories))
    return {slot: value for slot, value in slots.items() if tracker.get_slot(slot) in (None, "")}


def _without_questions(user_event: Dict[Text, Any]) -> str:
    """The message without the question clauses the NLU found in it ("…另外延误了能赔吗")."""
    text = user_event.get("text") or ""
    for clause in (user_event.get("parse_data") or {}).get("clauses") or []:
        text = text.replace(clause.get("text") or "\0", " ")
    return text.strip(" ，,。.；;!！")


NO_BOOKING_SHOWN = "未提供（客服会按您的姓名和手机号查找订单）"
NO_BOOKING_WAY_ON = (
    "没关系，没有订单号也可以登记投诉。稍后请留下您的姓名和手机号，客服会据此帮您查到订单；"
    "如果之后找到了订单号（以 TR 开头），随时发给我就行，也可以说“转人工”。"
)


def no_booking_said(tracker: Tracker, before_latest: bool = False) -> bool:
    """Since this complaint started, the traveller said they have no booking number."""
    seen_latest = False
    for event in reversed(tracker.events or []):
        if event.get("event") == "action" and event.get("name") == "action_prefill_complaint":
            return False
        if event.get("event") != "user":
            continue
        if before_latest and not seen_latest:
            seen_latest = True
            continue
        if says_no_booking(event.get("text") or ""):
            return True
    return False


def turns_to_another_question(tracker: Tracker) -> bool:
    """Inside the form, right after a question, the message takes back the complaint and asks
    something else ("算了我先查下行程", "等等，我先问下导游电话"), whatever was read from it."""
    if not tracker.get_slot("requested_slot") or not _validates_the_message(tracker):
        return False
    return other_question(latest_text(tracker)) is not None


def cancels_the_trip(tracker: Tracker) -> bool:
    """Inside the form, after a question, the message only asks to cancel the trip and was read
    as an answer (the request question aside: "我不想去了，退团" can be what they want)."""
    requested = tracker.get_slot("requested_slot")
    if not requested or requested == "complaint_request" or not tracker.slots_to_validate():
        return False
    return trip_cancellation_only(latest_text(tracker))


CONSENT_KEPT_BUTTONS = [
    {"title": "同意", "payload": "/affirm"},
    {"title": "不同意", "payload": "/deny"},
    {"title": "转人工", "payload": "/request_human"},
]


def consent_refused_before(tracker: Tracker) -> bool:
    """This complaint already told the traveller what a refusal means (CONSENT_KEPT): refused
    before the latest message."""
    seen_user = False
    for event in reversed(tracker.events or []):
        kind = event.get("event")
        if kind == "user":
            seen_user = True
        elif kind == "action" and event.get("name") in ("action_prefill_complaint", *_COMPLAINT_ENDS):
            return False
        elif kind == "bot" and seen_user and event.get("text") == CONSENT_KEPT:
            return True
    return False


class ActionComplaintSummary(Action):
    """Shows what will be submitted, with the predicted category, and asks to confirm."""

    def name(self) -> Text:
        return "action_complaint_summary"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        if tracker.get_slot("complaint_consent") is False:
            dispatcher.utter_message(response="utter_consent_declined")
            return reset_complaint()
        await show_summary(dispatcher, tracker.slots)
        return [SlotSet("complaint_confirming", True)]


# Words that only say "I ask for" around a label ("要求赔偿", "我要退款"): the label adds nothing.
_ASKING = re.compile(r"要求|希望|请求|我们?想?要|想要|请|给我们?|[\s，,。.!！~～、]")


def request_display(slots: Dict[Text, Any]) -> str:
    """The traveller's words, with the label beside them when it adds something: "我其实只想要个
    道歉（道歉）" shows the choice read from them; "要求赔偿" needs none."""
    label = REQUEST_LABELS.get(slots.get("complaint_request"))
    words = slots.get(REQUEST_TEXT_SLOT)
    if not words:
        return label or NOT_GIVEN
    if not label or label == "其他" or _ASKING.sub("", words) in (label, ""):
        return words
    return f"{words}（{label}）"


async def show_summary(dispatcher: CollectingDispatcher, slots: Dict[Text, Any]) -> None:
    """The summary shown before submitting (also after a correction at the summary)."""
    description = slots.get("complaint_description") or ""
    category = ""
    try:
        result = await get_client().classify(description)
        category = (
            f"\n初步分类：{result['category_label']}（将由{result.get('department_name') or '客服部门'}处理）"
        )
    except TicketingError:
        # The summary is still useful without the prediction; submission retries later.
        logger.info("classification unavailable for the summary")
    dispatcher.utter_message(
        response="utter_complaint_summary",
        booking_ref=slots.get("booking_ref") or NO_BOOKING_SHOWN,
        description=description[:200] + ("……" if len(description) > 200 else ""),
        when_where=slots.get("complaint_when_where") or NOT_GIVEN,
        request=request_display(slots),
        name=slots.get("complainant_name") or NOT_GIVEN,
        phone=mask_phone(slots.get("phone")),
        category=category,
    )


class ActionSubmitComplaint(Action):
    def name(self) -> Text:
        return "action_submit_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        payload: Dict[Text, Any] = {f.api_key: tracker.get_slot(f.slot) for f in FIELDS if f.api_key}
        if payload.get("occurred_at") == NOT_GIVEN:
            payload["occurred_at"] = None  # "不记得": nothing to record
        payload.update(
            channel=tracker.get_latest_input_channel() or "rest",
            conversation_id=tracker.sender_id,
            request_detail=tracker.get_slot(REQUEST_TEXT_SLOT),
            evidence=list(tracker.get_slot("complaint_evidence") or [])[:20],
        )
        payload = {k: v for k, v in payload.items() if v not in (None, "", [])}
        # Same conversation + same content = same key: a retry never opens a second ticket.
        key = hashlib.sha256(
            "|".join(
                str(payload.get(k) or "") for k in ("conversation_id", "booking_ref", "description", "phone")
            ).encode()
        ).hexdigest()[:40]
        try:
            ticket = await get_client().create_ticket(payload, idempotency_key=key)
        except Unavailable:
            dispatcher.utter_message(response="utter_submit_failed")
            # Everything is kept; "确认" tries again with the same key. The slot is set
            # again so the dialogue sees "still confirming" (see data/rules/complaint.yml).
            return [SlotSet("complaint_confirming", True)]
        except Rejected as exc:
            logger.warning("ticket rejected by the API: %s", exc.status)
            dispatcher.utter_message(response="utter_submit_rejected")
            return reset_complaint()
        except TicketingError:
            logger.exception("unexpected answer from the ticketing API")
            dispatcher.utter_message(response="utter_submit_failed")
            return [SlotSet("complaint_confirming", True)]
        dispatcher.utter_message(text=format_ticket_created(ticket))
        # The number stays for this conversation: "进度呢" right after needs no number
        # (actions/tickets.py: ticket_created_here).
        events = reset_complaint() + [SlotSet("ticket_no", ticket.get("ticket_no"))]
        if ticket.get("severity") == "urgent":
            # DESIGN §3: an urgent complaint goes to a human at once.
            dispatcher.utter_message(response="utter_urgent_alert")
            events += await open_handoff(
                tracker, dispatcher, "urgent_complaint", ticket_no=ticket.get("ticket_no")
            )
        return events
