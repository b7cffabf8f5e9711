"""The complaint form: collect, summarise with the predicted category, confirm, open a ticket."""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.clients.ticketing import Rejected, TicketingError, Unavailable, get_client
from actions.handoff import open_handoff
from actions.forms.base import CountingFormValidation, latest_text
from actions.utils.parsing import mask_phone, parse_phone
from actions.utils.text import CATEGORY_LABELS, format_ticket_created

logger = logging.getLogger(__name__)

COMPLAINT_SLOTS = (
    "complaint_description",
    "complaint_when_where",
    "complaint_request",
    "complaint_evidence",
    "complaint_consent",
    "complaint_confirming",
    "complainant_name",
)
REQUEST_LABELS = {"refund": "退款", "compensation": "赔偿", "apology": "道歉", "fix": "整改/解决问题", "other": "其他"}
# What travellers write for each request kind (checked in this order).
REQUEST_WORDS = (
    ("refund", re.compile(r"退款|退钱|退费|退团费|退差价|refund|退还")),
    ("compensation", re.compile(r"赔偿|补偿|赔钱|赔付|compensat")),
    ("apology", re.compile(r"道歉|赔礼|说法|交代")),
    ("fix", re.compile(r"整改|解决|处理好|换|改进|fix")),
)
NOT_GIVEN = "未说明"
_DONT_KNOW = re.compile(r"^(不记得|不清楚|忘了|不知道|记不清|没注意)")
_TIME_HINT = re.compile(r"昨天|今天|前天|上午|下午|晚上|早上|中午|凌晨|\d+\s*[点时]|\d+\s*[月号日]|第.{1,2}天|刚才|刚刚")
_PLACE_HINT = re.compile(r"酒店|机场|车上|大巴|餐厅|景区|景点|古城|房间|前台|飞机|航班|店里|购物店|码头|车站|海边|寺|山|湖|街")
_URL = re.compile(r"https?://\S+")
MIN_DESCRIPTION_CHARS = 6
MAX_DESCRIPTION_CHARS = 4000
MAX_WHEN_WHERE_CHARS = 100  # the API's occurred_at limit: longer would be refused at submission
# Words that say "I want to complain" without saying what happened.
_GENERIC = re.compile(r"投诉|我要|我想|想要|你们|客服|一下|请问|怎么|如何|可以|吗|呢|啊|了|的|帮我|提交|反映|问题|[\s\W\d]")


def is_descriptive(text: str) -> bool:
    """True when a message already says what happened, so we need not ask again."""
    return len(_GENERIC.sub("", text)) >= MIN_DESCRIPTION_CHARS


class ActionPrefillComplaint(Action):
    """Reuses what the traveller already told us before the form asks anything."""

    def name(self) -> Text:
        return "action_prefill_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        events: List[EventType] = [SlotSet("form_failures", 0.0)]
        text = latest_text(tracker)
        if not tracker.get_slot("complaint_description") and is_descriptive(text):
            events.append(SlotSet("complaint_description", text[:MAX_DESCRIPTION_CHARS]))
            events.extend(_details_from_description(text))
        if not tracker.get_slot("booking_ref") and tracker.get_slot("verified_booking"):
            events.append(SlotSet("booking_ref", tracker.get_slot("verified_booking")))
        dispatcher.utter_message(response="utter_complaint_start")
        return events


def request_code(text: str) -> str | None:
    for code, pattern in REQUEST_WORDS:
        if pattern.search(text or ""):
            return code
    return None


def _details_from_description(text: str) -> List[EventType]:
    """What a full description already answers is not asked again."""
    events: List[EventType] = []
    if _TIME_HINT.search(text) and _PLACE_HINT.search(text):
        events.append(SlotSet("complaint_when_where", "见描述"))
    code = request_code(text)
    if code:
        events.append(SlotSet("complaint_request", code))
    urls = _URL.findall(text)
    if urls:
        events.append(SlotSet("complaint_evidence", urls))
    return events


class ValidateComplaintForm(CountingFormValidation):
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
        return await super().run(dispatcher, tracker, domain)

    async def required_slots(
        self,
        domain_slots: List[Text],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[Text]:
        if tracker.get_slot("complaint_consent") is False:
            return []  # no consent: stop asking; the summary action explains
        return domain_slots

    def validate_complaint_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        text = (value or "").strip()
        if len(text) < MIN_DESCRIPTION_CHARS:
            return self.reject("complaint_description", "utter_description_too_short", dispatcher, tracker)
        # Kept whole (up to the API's limit): agents need the traveller's own words.
        result = self.accept("complaint_description", text[:MAX_DESCRIPTION_CHARS])
        for event in _details_from_description(text):
            if not tracker.get_slot(event["name"]):
                result[event["name"]] = event["value"]
        return result

    def validate_complaint_when_where(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        text = (value or "").strip()
        if _DONT_KNOW.match(text):
            return self.accept("complaint_when_where", NOT_GIVEN)
        if len(text) < 2:
            return self.reject("complaint_when_where", "utter_ask_complaint_when_where", dispatcher, tracker)
        return self.accept("complaint_when_where", text[:MAX_WHEN_WHERE_CHARS])

    def validate_complaint_request(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        text = str(value or "").strip()
        code = text if text in REQUEST_LABELS else request_code(text)
        # Anything else the traveller asks for is recorded as "other"; their words stay in the description.
        return self.accept("complaint_request", code or "other")

    def validate_complainant_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        name = re.sub(r"^(我叫|我是|叫我|姓名[:：]?|名字[:：]?)", "", str(value or "").strip()).strip("。.，, ")
        if not 1 <= len(name) <= 20 or re.search(r"\d", name):
            return self.reject("complainant_name", "utter_invalid_name", dispatcher, tracker)
        return self.accept("complainant_name", name)

    def validate_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        phone = parse_phone(value) or parse_phone(latest_text(tracker))
        if not phone:
            return self.reject("phone", "utter_invalid_phone", dispatcher, tracker)
        return self.accept("phone", phone)


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


async def show_summary(dispatcher: CollectingDispatcher, slots: Dict[Text, Any]) -> None:
    """The summary shown before submitting (also after a correction at the summary)."""
    description = slots.get("complaint_description") or ""
    category = ""
    try:
        result = await get_client().classify(description)
        label = CATEGORY_LABELS.get(result.get("category"), "其他")
        category = f"\n初步分类：{label}（将由{result.get('department_name') or '客服部门'}处理）"
    except TicketingError:
        # The summary is still useful without the prediction; submission retries later.
        logger.info("classification unavailable for the summary")
    dispatcher.utter_message(
        response="utter_complaint_summary",
        booking_ref=slots.get("booking_ref"),
        description=description[:200] + ("……" if len(description) > 200 else ""),
        when_where=slots.get("complaint_when_where") or NOT_GIVEN,
        request=REQUEST_LABELS.get(slots.get("complaint_request"), NOT_GIVEN),
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
        when_where = tracker.get_slot("complaint_when_where")
        payload = {
            "booking_ref": tracker.get_slot("booking_ref"),
            "description": tracker.get_slot("complaint_description"),
            "phone": tracker.get_slot("phone"),
            "name": tracker.get_slot("complainant_name"),
            "channel": (tracker.get_latest_input_channel() or "rest"),
            "conversation_id": tracker.sender_id,
            "occurred_at": when_where if when_where not in (None, NOT_GIVEN, "见描述") else None,
            "request": tracker.get_slot("complaint_request"),
            "evidence": list(tracker.get_slot("complaint_evidence") or [])[:20],
        }
        payload = {k: v for k, v in payload.items() if v not in (None, "", [])}
        # Same conversation + same content = same key: a retry never opens a second ticket.
        key = hashlib.sha256(
            "|".join(str(payload[k]) for k in ("conversation_id", "booking_ref", "description", "phone")).encode()
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
        events = reset_complaint()
        if ticket.get("severity") == "urgent":
            # DESIGN §3: an urgent complaint goes to a human at once.
            dispatcher.utter_message(response="utter_urgent_alert")
            events += await open_handoff(tracker, dispatcher, "urgent_complaint", ticket_no=ticket.get("ticket_no"))
        return events


class ActionCancelForm(Action):
    """Stops whichever form is active and forgets what it collected."""

    def name(self) -> Text:
        return "action_cancel_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        loop = (tracker.active_loop or {}).get("name")
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        if intent == "request_human":
            pass  # the handoff message follows; no "cancelled" in between
        elif loop == "complaint_form" or tracker.get_slot("complaint_confirming"):
            dispatcher.utter_message(response="utter_complaint_cancelled")
        else:
            dispatcher.utter_message(response="utter_cancelled")
        return [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet("phone_last4", None)] + reset_complaint()


def reset_complaint() -> List[EventType]:
    return [SlotSet(slot, None) for slot in COMPLAINT_SLOTS] + [SlotSet("form_failures", 0.0)]
