"""Correcting a complaint field that was already given, in the traveller's own words.

"时间说错了，是12月5号晚上", "名字写错了，应该是王芳", "不是李娜，是李雪",
"诉求改成退款", "描述补充一下：导游还骂人了", or a bare "不对" at the summary.
Which field: a keyword, else the old value the traveller quotes, else the
shape of the new value. The new value goes through the form's own checks
(actions/forms/complaint_checks.py).
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.complaint import show_summary
from actions.fields import FREE_TEXT_SLOTS, MAX_DESCRIPTION_CHARS, NOT_GIVEN
from actions.fields import LABELS as FIELD_LABELS
from actions.forms.base import latest_entities, latest_text, previous_slot_value
from actions.forms.complaint_checks import CHECKS, guess_of, kept_as_before, offered_when_where
from actions.utils.parsing import BOOKING_REF, MOBILE, canonical, to_simplified
from actions.utils.reading import WHEN, request_code, without_field_label

# A corrected value that names a place ("是在酒店大堂"): the traveller says it is the place.
_PLACE_HINT = re.compile(
    r"酒店|机场|车上|大巴|餐厅|景区|景点|古城|房间|前台|飞机|航班|店里|购物店|码头|车站|海边|寺|山|湖|街"
)
# Checked in order: "手机号" must win over "号", "订单号" over "手机".
FIELD_WORDS: Tuple[Tuple[str, re.Pattern], ...] = (
    ("booking_ref", re.compile(r"订单|单号|预订号|booking", re.I)),
    ("phone", re.compile(r"手机|电话|号码|联系方式|phone|mobile", re.I)),
    ("complainant_name", re.compile(r"名字|姓名|称呼|姓氏|\bname\b", re.I)),
    (
        "complaint_when_where",
        re.compile(
            r"时间地点|时间和地点|时间、地点|时间|日期|几号|哪天|地点|地方|位置|\btime\b|\bdate\b|\bplace\b",
            re.I,
        ),
    ),
    ("complaint_request", re.compile(r"诉求|要求|处理方式|想要的结果", re.I)),
    ("complaint_description", re.compile(r"情况描述|描述|经过|情况|内容|事情|补充", re.I)),
)
# What comes after these is the new value ("……，应该是王芳").
_VALUE_MARKER = re.compile(
    r"(?:改成|改为|改一下成|换成|写成|更正为|更正成|应该是|应该在|应当是|应是|应为|其实是|实际是|实际上是|正确的是|才是|是|[:：])\s*"
)
_NOT_X_BUT_Y = re.compile(r"不是(?P<old>[^，,。；;]+?)[，,。；;\s]*(?:而)?是(?P<new>.+)")
_Y_NOT_X = re.compile(r"^(?P<new>[^，,。；;]+?)[，,。；;\s]*(?:而)?不是(?P<old>.+)$")
# "说错了", "不对", "改一下": said about the field, not part of its new value.
_ERROR_WORDS = re.compile(
    r"打错字了|错字|说错了|写错了|填错了|打错了|输错了|记错了|搞错了|弄错了|错了|不对|有误|不准确|需要修改|修改一下|更正一下|改一下|更正|修改"
)
_FILLER = re.compile(r"^[\s，,。.！!？?：:、]+|[\s，,。.！!？?]+$|(吧|啊|呀|哈|哦|呢)$")
# An addition to the description; what follows the word is the added text.
_APPEND = re.compile(r"补充(?:一下|一点|说明)?|还有|另外|再加")


# Left over from "信息有误" or "等一下，我刚才说错了": says nothing about the new value.
_VAGUE = re.compile(
    r"(信息|资料|内容|东西|这个|那个|这条|那条|这里|那里|刚才|刚刚|上面|前面|一项|有一项|有个|一件事|事情|"
    r"等一下|等等|不好意思|重新|一下|帮我|麻烦|投诉|能|可以|请|想|要|填|写|说|改|到|里|我|的|了|吗|呢|吧|都|也|和|"
    r"时间|日期|地点|地方|名字|姓名|电话|手机号?|订单号?|诉求|描述|"
    r"[\s，,。.！!？?])*"
)
# Answers that can only be a name ("我叫孙丽").
_NAME_SHAPE = re.compile(r"^(我叫|我是|叫我|本人|我的名字是)")


def _clean(value: str) -> str:
    previous = None
    while previous != value:
        previous, value = value, _FILLER.sub("", value)
    return "" if _VAGUE.fullmatch(value) else value


def _new_value(text: str) -> str:
    """What follows "不是X，是", the first "改成/应该是/是/：", or what is left without the error words."""
    match = _NOT_X_BUT_Y.search(text)
    if match:
        return _clean(match.group("new"))
    match = _Y_NOT_X.search(text)
    if match:  # "（名字）是王芳不是李娜"
        text = match.group("new")
        marker = _VALUE_MARKER.match(text.lstrip("，,：: "))
        return _clean(text.lstrip("，,：: ")[marker.end() :] if marker else text)
    marker = _VALUE_MARKER.search(text)
    if marker:  # "是昨天早上不是晚上": the "不是…" tail is the old value
        return _clean(re.sub(r"[，,\s]*而?不是.*$", "", text[marker.end() :]))
    return _clean(_ERROR_WORDS.sub("", text))


def _field_by_shape(value: str) -> Optional[str]:
    folded = canonical(value)
    if BOOKING_REF.search(folded):
        return "booking_ref"
    if MOBILE.search(folded):
        return "phone"
    if _NAME_SHAPE.match(value):
        return "complainant_name"
    if request_code(value) and len(value) <= 12:
        return "complaint_request"
    # "刚才" points back at the earlier message, not at when it happened.
    if WHEN.search(re.sub(r"刚才|刚刚", "", value)) or _PLACE_HINT.search(value):
        return "complaint_when_where"
    return None


_TIME_WORDS = re.compile(r"时间|日期|几号|哪天|几点|\btime\b|\bdate\b", re.I)
_PLACE_WORDS = re.compile(r"地点|地方|位置|\bplace\b|\bwhere\b", re.I)
_NOT_PLACE_LEFT = re.compile(r"[\W\d_]|在|于|是|的|大概|左右|前后|那天|当天")


def _without_time(text: str) -> str:
    """`text` without its times and dates ("前天晚上，在昆明滇池温德姆酒店" -> "在昆明滇池温德姆酒店")."""
    return re.sub(r"^[\s，,。.、；;]+|[\s，,。.、；;]+$", "", WHEN.sub("", text))


_DAY_FIRST = re.compile(r"^(?:是|在)?\s*[0-9一二三四五六七八九十]{1,3}[日号]")
_MONTH = re.compile(r"(?:[0-9一二三四五六七八九十〇零]{1,4}年)?[0-9一二三四五六七八九十]{1,2}月")


def _with_month(value: str, old: str) -> str:
    """ "26号晚上" correcting "11月25号晚上" is the 26th of that month: the month is kept."""
    month = _MONTH.search(old)
    if month and _DAY_FIRST.match(value) and not _MONTH.search(value):
        return month.group(0) + re.sub(r"^(?:是|在)\s*", "", value)
    return value


def when_where_corrected(text: str, value: str, old: Optional[str]) -> str:
    """The time and place after a correction that names one part of it: "时间是12月5日晚上" changes
    the time and keeps the place given before; "地点不对，是XX酒店" keeps the time. A new value
    with both (or nothing given before) replaces the whole."""
    if not old or old == NOT_GIVEN or not value:
        return value
    old = without_field_label(old)  # "时间是11月25号晚上": the label is neither time nor place
    simple = to_simplified(text)
    has_place = bool(_NOT_PLACE_LEFT.sub("", WHEN.sub("", to_simplified(value))))
    has_time = bool(WHEN.search(to_simplified(value)))
    names_time, names_place = bool(_TIME_WORDS.search(simple)), bool(_PLACE_WORDS.search(simple))
    if has_time and not has_place and not names_place:
        value = _with_month(value, old)
        place = _without_time(old)
        return f"{value}，{place}" if place and place not in value else value
    if has_place and not has_time and not names_time:
        time = "".join(m.group(0) for m in WHEN.finditer(old)).strip()
        return f"{time}，{value}" if time else value
    return value


def parse_correction(
    text: str, slots: Dict[str, Any], field_hint: Optional[str] = None
) -> Tuple[Optional[str], str]:
    """(field, new value) from a correction; value "" when the traveller did not give it yet.

    Keywords are found in the simplified text; the value keeps the traveller's own characters."""
    if field_hint in FIELD_LABELS:
        return field_hint, ""
    original = (text or "").strip()
    simplified = to_simplified(original)
    field, value = _parse(simplified, slots)
    if value and len(original) == len(simplified):
        start = simplified.find(value)
        if start >= 0:
            value = original[start : start + len(value)]
    return field, value


# Where an old value quoted is looked for: the story last, since it holds every value said in it
# ("不是双廊，是大理古城" corrects the place the story let the form guess, not the story).
_QUOTED_ORDER = sorted(FIELD_LABELS, key=lambda field: field == "complaint_description")


def _parse(text: str, slots: Dict[str, Any]) -> Tuple[Optional[str], str]:
    # The field named first wins ("补充一点，司机在打电话" is about the description).
    named = [
        (m.start(), order, field, m)
        for order, (field, pattern) in enumerate(FIELD_WORDS)
        for m in [pattern.search(text)]
        if m
    ]
    for pattern in (_NOT_X_BUT_Y, _Y_NOT_X):
        quoted = pattern.search(text)
        if not quoted:
            continue
        old, new = _clean(quoted.group("old")), quoted.group("new")
        marker = _VALUE_MARKER.search(new)  # "我的名字是王芳不是李娜"
        new = _clean(new[marker.end() :] if marker else new)
        field_named = min(named, key=lambda item: item[:2])[2] if named else None
        if new and field_named not in (None, "complaint_description"):
            return field_named, new  # "不对 地点写错了 是大理古城 不是双廊"
        for field in _QUOTED_ORDER:
            current = str(slots.get(field) or "")
            if field == "complaint_when_where" and not current:
                current = guess_of(slots.get("complaint_description")) or ""
            if old and current and (old in current or current in old):
                return field, new
    if named:
        _, _, field, keyword = min(named, key=lambda item: item[:2])
        rest = text[keyword.end() :]
        if field in ("booking_ref", "phone"):
            # The last number written is the right one ("不是…1，是…2").
            found = (BOOKING_REF if field == "booking_ref" else MOBILE).findall(canonical(rest))
            if found:
                return field, found[-1]
            # Digits of the wrong shape go to the validator, which says what is wrong with them.
            return field, _new_value(rest) if re.search(r"\d{3,}", rest) else ""
        if field == "complaint_description" and _APPEND.search(text):
            return field, _clean(_APPEND.split(text[keyword.start() :], maxsplit=1)[-1])
        return field, _new_value(rest)
    value = _new_value(text)
    return (_field_by_shape(value), value) if value else (None, "")


def fields_read_this_turn(tracker: Tracker) -> List[str]:
    """Complaint fields that action_read_message set from the latest message."""
    names: List[str] = []
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            break
        if (
            event.get("event") == "slot"
            and event.get("name") in FIELD_LABELS
            and event.get("name") not in names
        ):
            names.append(event["name"])
    return list(reversed(names))


def correct_field(
    asked: str, text: str, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
) -> Optional[Dict[str, Any]]:
    """A correction read as the answer to the question `asked` ("不对 我说错了 是三个小时" when
    the request was asked): the corrected field changes, `asked` keeps what it had (and is asked
    again when empty). None when it corrects nothing known: the caller checks it as an answer."""
    field, value = parse_correction(text, tracker.slots)
    if field is None and value and asked == "complaint_when_where":
        field = asked  # "双廊不对 是喜洲" at the time and place question: its new value
    if field == "complaint_when_where":
        old = previous_slot_value(tracker, field) or (offered_when_where(tracker) if asked == field else None)
        value = when_where_corrected(text, value, old)
    if field == asked:
        return CHECKS[asked](value, dispatcher, tracker, domain) if value and value != text else None
    kept: Dict[str, Any] = {**kept_as_before(asked, tracker), "form_failures": 0.0}
    if field is None or field not in CHECKS:
        # No field named and no value of a field's shape: it corrects the story told before,
        # kept whole with the correction beside it (as a correction at the summary is).
        description = previous_slot_value(tracker, "complaint_description")
        if not description:
            return None
        field = "complaint_description"
        updates: Dict[str, Any] = {field: f"{description}\n更正：{text}"[:MAX_DESCRIPTION_CHARS]}
    elif value:
        updates = CHECKS[field](value, dispatcher, tracker, domain)
    else:
        updates = {field: None}
    if updates.get(field) is not None:
        dispatcher.utter_message(response="utter_correction_done", field=FIELD_LABELS[field])
    else:
        dispatcher.utter_message(response="utter_correction_ask_again", field=FIELD_LABELS[field])
    return {**updates, **kept}


class ActionCorrectComplaint(Action):
    """Applies a correction during the complaint form or at its summary."""

    def name(self) -> Text:
        return "action_correct_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        in_form = (tracker.active_loop or {}).get("name") == "complaint_form"
        hint = next(iter(latest_entities(tracker, "correction_field")), None)
        text = latest_text(tracker)
        field, value = parse_correction(text, tracker.slots, hint)
        read_now = fields_read_this_turn(tracker)
        if read_now and not in_form and (field is None or field in read_now):
            # The message itself gave the new value ("不要退差价了，要求赔偿"): already read into
            # the slots by action_read_message, so show what will be submitted now.
            for name in read_now:
                dispatcher.utter_message(response="utter_correction_done", field=FIELD_LABELS[name])
            await show_summary(dispatcher, tracker.slots)
            return []
        requested = tracker.get_slot("requested_slot") if in_form else None
        if requested == "complaint_description" and not (field == "booking_ref" and value):
            # Only the booking number comes before the description; anything else the
            # traveller writes here is the description, kept whole, even if it reads like a correction.
            field, value = requested, text
        elif (
            requested == "complaint_request"
            and field is None
            and not request_code(value)
            and tracker.get_slot("complaint_description")
        ):
            # "不对 我说错了 是三个小时" while the request is asked: no request in it, so it
            # corrects the story told before (kept beside it below), not the request.
            field = "complaint_description"
        elif requested in FREE_TEXT_SLOTS and field is None and value:
            field = requested  # no field named: it answers the question just asked ("不对，我叫王芳")
        if field is None:
            dispatcher.utter_message(response="utter_ask_correction_field")
            return []
        old_description = tracker.get_slot("complaint_description")
        # "补充…" about a description given earlier (not the one being asked for now).
        adding = field == "complaint_description" and field != requested and bool(_APPEND.search(text))
        if field == "complaint_description" and field != requested and old_description:
            # The traveller's first words stay: an addition or a correction is appended, never swapped in.
            if not value and adding:
                dispatcher.utter_message(response="utter_correction_append_how")
                return []
            if value:
                note = f"补充：{value}" if adding else f"更正：{text}"
                value = f"{old_description}\n{note}"[:MAX_DESCRIPTION_CHARS]
        if not value and not tracker.get_slot(field) and in_form:
            return []  # nothing given yet for that field: the form asks for it in its turn
        updates: Dict[str, Any] = {field: None}
        if value and field == "complaint_when_where":
            # "不对，时间是12月5日晚上": the time changes, the place given before stays; at the
            # question that offered the story's guess, the rest of the guess stays
            # ("地点写错了 是大理古城" to "今天，双廊").
            old = previous_slot_value(tracker, field)
            if not old and field == requested:
                old = offered_when_where(tracker)
            value = when_where_corrected(text, value, old)
        if value:
            updates = CHECKS[field](value, dispatcher, tracker, domain)
        events: List[EventType] = [SlotSet(name, val) for name, val in updates.items()]
        if updates.get(field) is not None:
            if adding:
                dispatcher.utter_message(response="utter_correction_added")
            elif field != requested:
                dispatcher.utter_message(response="utter_correction_done", field=FIELD_LABELS[field])
            if not in_form:
                await show_summary(dispatcher, {**tracker.slots, **updates})
            return events  # in the form, the form goes on with the next empty field
        if not value:
            dispatcher.utter_message(response="utter_correction_ask_again", field=FIELD_LABELS[field])
        if in_form:
            return events  # the form asks for the cleared field next
        # At the summary: back into the form, which asks only for the cleared field.
        return events + [SlotSet("complaint_confirming", None), ActiveLoop("complaint_form")]
