"""Stranger test 6, the complaint form keeps what the traveller said:

- C03: consent refused once keeps the form at the consent question with everything kept; a yes
  in any words then goes on ("那好吧 我同意 赶紧给我登记", read as out_of_scope); refused twice, it ends.
- C05: "我姓唐 叫唐亮" is the name 唐亮, not the surname alone.
- C18: a bare demand ("退钱！！！") while the booking number is asked is the request.
- C21: "希望以后改进" is a request, and not part of the time and place said before it.
- C23, X06: "不对 地点写错了 是大理古城 不是双廊" or "不是 地点是去大理的路上" at the question that
  offered the story's guess changes the place and keeps the date; "在车上抽烟…在去大理的路上" guesses
  the place said, not "车上抽烟".
- C06: several wishes with money among them are labelled by the money ("退布达拉宫门票钱 还要说法").
- C25: "apology pls" at the request question (read as request_human) is the request.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.complaint import CONSENT_KEPT, ActionAskComplaintConsent, ValidateComplaintForm
from actions.correction import ActionCorrectComplaint, parse_correction
from actions.fields import REQUEST_TEXT_SLOT
from actions.forms.complaint_checks import check_complaint_when_where
from actions.reader import read_slots
from actions.utils.reading import read, request_code
from tests.actions.form_turns import COMPLAINT_DOMAIN as DOMAIN
from tests.actions.form_turns import action, slots, user_turn


def _at(requested: str, text: str, intent: str = "inform", **held: Any) -> Dict[str, Any]:
    tracker = user_turn(
        text,
        intent,
        message_id="m6",
        listen=False,
        slots={"requested_slot": requested, **held},
        loop="complaint_form",
        sender="s6-complaint",
    )
    return read_slots(tracker)


# C05: a surname, then the full name.


@pytest.mark.parametrize(
    "text, name",
    [
        ("我姓唐 叫唐亮", "唐亮"),
        ("免贵姓唐，叫唐亮", "唐亮"),
        ("我姓王 王芳", "王芳"),
        ("我姓李，名字叫李雪", "李雪"),
        ("我姓唐 全名唐亮 电话13366778899", "唐亮"),
        ("我姓赵", "赵"),
    ],
)
def test_a_surname_then_the_full_name_is_the_full_name(text, name):
    assert read(text).name == name


def test_the_full_name_after_the_surname_fills_the_name_question():
    assert _at("complainant_name", "我姓唐 叫唐亮")["complainant_name"] == "唐亮"


# C18: a bare demand while the booking number is asked.


@pytest.mark.parametrize(
    "text, intent, label",
    [
        ("退钱！！！", "deny", "refund"),
        ("赔钱！", "emergency_not", "compensation"),
        ("必须道歉", "inform", "apology"),
        ("退款", "nlu_fallback", "refund"),
    ],
)
def test_a_bare_demand_at_the_booking_question_is_the_request(text, intent, label):
    got = _at("booking_ref", text, intent, complaint_description="你们这什么破旅行社 骗子")
    assert got["complaint_request"] == label
    assert got[REQUEST_TEXT_SLOT] == text.rstrip("！!")
    assert "booking_ref" not in got


def test_a_bare_demand_does_not_replace_a_request_given():
    held = {"complaint_request": "refund", REQUEST_TEXT_SLOT: "退钱"}
    assert "complaint_request" not in _at("booking_ref", "退钱", **held)


# C21: "希望以后改进" in a whole complaint.

WHOLE = (
    "我想反映个问题 导游讲解很敷衍 基本不讲 就让我们自己逛 TR20260019 11月27号 土楼 {wish} 唐亮 13366778899"
)


@pytest.mark.parametrize(
    "wish", ["希望以后改进", "希望加强导游培训", "希望你们改善服务", "希望以后提高讲解质量"]
)
def test_a_wish_to_improve_is_the_request_and_no_place(wish):
    reading = read(WHOLE.format(wish=wish))
    assert reading.request_text == wish
    assert reading.request_label == "fix"
    assert reading.when_where == "11月27号 土楼"
    assert reading.name == "唐亮"


def test_a_whole_complaint_with_a_wish_fills_request_and_time_and_place():
    got = _at("booking_ref", WHOLE.format(wish="希望以后改进"), "complain")
    assert got["complaint_request"] == "fix" and got[REQUEST_TEXT_SLOT] == "希望以后改进"
    assert got["complaint_when_where"] == "11月27号 土楼"


# C06: the money wish labels a request with several wishes.


@pytest.mark.parametrize(
    "text, label",
    [
        ("退布达拉宫门票钱 还要说法", "refund"),
        ("把门票钱退给我们，再给个说法", "refund"),
        ("退我们一半的钱 再道歉", "refund"),
        ("给个说法 再赔点钱", "compensation"),
        ("道歉，另外赔我们损失的钱", "compensation"),
        ("要个说法", "apology"),
    ],
)
def test_the_money_wish_labels_the_request(text, label):
    assert request_code(text) == label


# C25: a request in English read as a wish for a human.


@pytest.mark.parametrize(
    "text, label",
    [
        ("apology pls", "apology"),
        ("refund please", "refund"),
        ("我要道歉", "apology"),
        ("赔偿", "compensation"),
    ],
)
def test_a_request_read_as_request_human_answers_the_request_question(text, label):
    got = _at("complaint_request", text, "request_human", complaint_description="导游态度很差")
    assert got["complaint_request"] == label


@pytest.mark.parametrize("text", ["转人工", "我要找人工客服解决", "human agent please"])
def test_asking_for_a_person_at_the_request_question_is_still_no_request(text):
    assert "complaint_request" not in _at("complaint_request", text, "request_human")


# C23, X06: the place of the offered guess corrected.

STORY = "我要投诉，今天在双廊 导游杨丽让我们在车上等了一个半小时 她自己去吃饭了"


def test_a_place_corrected_by_name_with_the_old_one_quoted_is_the_place():
    held = {"complaint_description": STORY}
    field, value = parse_correction("不对 地点写错了 是大理古城 不是双廊", held)
    assert (field, value) == ("complaint_when_where", "大理古城")


def test_the_old_place_quoted_from_the_guess_is_the_place():
    field, value = parse_correction("不是双廊，是大理古城", {"complaint_description": STORY})
    assert (field, value) == ("complaint_when_where", "大理古城")


@pytest.mark.parametrize(
    "text", ["不对 地点写错了 是大理古城 不是双廊", "不是双廊，是大理古城", "地点不对，是大理古城"]
)
async def test_correcting_the_guessed_place_keeps_the_day(text):
    held = {"complaint_description": STORY, "requested_slot": "complaint_when_where", "form_failures": 0.0}
    tracker = user_turn(text, "correct", before=[action("complaint_form")], slots=held, loop="complaint_form")
    dispatcher = CollectingDispatcher()
    events = await ActionCorrectComplaint().run(dispatcher, tracker, DOMAIN)
    assert slots(events)["complaint_when_where"] == "今天，大理古城"
    assert slots(events).get("complaint_description", STORY) == STORY


SMOKE = "导游在车上抽烟 12月6号在去大理的路上"


def test_the_place_said_is_guessed_not_what_happened_there():
    assert read(SMOKE).when_where == "12月6号，去大理的路上"
    assert read("导游在车上抽烟").when_where is None or "抽烟" not in read("导游在车上抽烟").when_where


@pytest.mark.parametrize(
    "text, value, expected",
    [
        ("不是 地点是去大理的路上 大巴车上", "不是 去大理的路上 大巴车上", "12月6号，去大理的路上 大巴车上"),
        ("不对，是在大巴车上", "不对，是在大巴车上", "12月6号，在大巴车上"),
        ("不是的 是12月7号", "不是的 是12月7号", "12月7号，去大理的路上"),
    ],
)
def test_a_no_to_the_guess_with_the_right_value_keeps_the_rest_of_the_guess(text, value, expected):
    held = {"complaint_description": SMOKE, "requested_slot": "complaint_when_where", "form_failures": 0.0}
    tracker = user_turn(text, "inform", slots=held, loop="complaint_form")
    checked = check_complaint_when_where(value, CollectingDispatcher(), tracker, DOMAIN)
    assert checked["complaint_when_where"] == expected


# C03: consent refused once, then given.


def _consent_turn(text: str, intent: str, bot_before: Optional[str] = None):
    before = [action("action_prefill_complaint"), action("complaint_form")]
    if bot_before:
        refused = {"event": "user", "text": "不同意"}
        before += [{"event": "bot", "text": bot_before}, action("action_listen"), refused]
    held = {
        "complaint_description": "导游强制购物",
        "complaint_request": "refund",
        "booking_ref": "TR20260005",
        "requested_slot": "complaint_consent",
        "form_failures": 0.0,
    }
    return user_turn(
        text,
        intent,
        before=before,
        read={"complaint_consent": False},
        slots=held,
        loop="complaint_form",
        latest_action="complaint_form",
    )


async def test_a_first_refusal_keeps_the_form_at_the_consent_question():
    dispatcher = CollectingDispatcher()
    tracker = _consent_turn("不同意", "deny")
    events = await ValidateComplaintForm().run(dispatcher, tracker, DOMAIN)
    got = slots(events)
    assert got["complaint_consent"] is None
    assert "complaint_description" not in got or got["complaint_description"] == "导游强制购物"


async def test_the_consent_question_after_a_refusal_says_what_is_kept():
    dispatcher = CollectingDispatcher()
    await ActionAskComplaintConsent().run(dispatcher, _consent_turn("不同意", "deny"), DOMAIN)
    assert [m.get("text") for m in dispatcher.messages] == [CONSENT_KEPT]
    assert [b["title"] for b in dispatcher.messages[0]["buttons"]][:1] == ["同意"]


async def test_a_second_refusal_ends_the_form():
    dispatcher = CollectingDispatcher()
    tracker = _consent_turn("还是不同意", "deny", bot_before=CONSENT_KEPT)
    events = await ValidateComplaintForm().run(dispatcher, tracker, DOMAIN)
    # Nothing more is asked: the refusal read from the message stays and the form ends.
    assert slots(events).get("complaint_consent", False) is False
    assert slots(events).get("requested_slot") is None


@pytest.mark.parametrize(
    "text, intent",
    [("那好吧 我同意 赶紧给我登记", "out_of_scope"), ("行吧 那我同意了", "affirm"), ("好吧 可以", "affirm")],
)
def test_a_yes_in_any_words_after_the_refusal_answers_the_consent_question(text, intent):
    assert _at("complaint_consent", text, intent)["complaint_consent"] is True


@pytest.mark.parametrize("text", ["那好吧 我同意 赶紧给我登记", "行吧 那我同意了 你们快点处理"])
def test_a_yes_with_more_words_is_no_more_of_the_story(text):
    got = _at("complaint_consent", text, "out_of_scope", complaint_description="导游强制购物 不买不让上车")
    assert got["complaint_consent"] is True
    assert "complaint_description" not in got


@pytest.mark.parametrize(
    "text, expected",
    [
        ("不是 地点是去大理的路上 大巴车上", "12月6号，去大理的路上 大巴车上"),
        ("不对，时间是12月7号", "12月7号，去大理的路上"),
    ],
)
def test_a_no_naming_the_place_at_the_request_question_corrects_the_place(text, expected):
    from actions.forms.complaint_checks import check_complaint_request

    held = {
        "complaint_description": SMOKE,
        "complaint_when_where": "12月6号，去大理的路上",
        "requested_slot": "complaint_request",
        "form_failures": 0.0,
    }
    tracker = user_turn(text, "inform", slots=held, loop="complaint_form")
    checked = check_complaint_request(text, CollectingDispatcher(), tracker, DOMAIN)
    assert checked["complaint_when_where"] == expected
    assert checked["complaint_request"] is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("不是双廊，是大理古城", "今天，大理古城"),
        ("是大理古城 不是双廊", "今天，大理古城"),
        ("双廊不对 是大理古城", "今天，大理古城"),
        ("不是今天 是昨天", "昨天，双廊"),
    ],
)
def test_the_guess_corrected_in_plain_words_at_its_question_keeps_the_rest(text, expected):
    held = {"complaint_description": STORY, "requested_slot": "complaint_when_where", "form_failures": 0.0}
    tracker = user_turn(text, "inform", slots=held, loop="complaint_form", message_id="m6c")
    value = read_slots(tracker)["complaint_when_where"]
    checked = check_complaint_when_where(value, CollectingDispatcher(), tracker, DOMAIN)
    assert checked["complaint_when_where"] == expected


def test_a_place_of_no_known_shape_corrected_at_its_question_is_the_place():
    held = {"complaint_description": STORY, "requested_slot": "complaint_when_where", "form_failures": 0.0}
    text = "双廊不对 是喜洲"
    tracker = user_turn(text, "inform", slots=held, loop="complaint_form", message_id="m6d")
    checked = check_complaint_when_where(text, CollectingDispatcher(), tracker, DOMAIN)
    assert checked["complaint_when_where"] == "今天，喜洲"
    assert checked.get("complaint_description", STORY) == STORY
