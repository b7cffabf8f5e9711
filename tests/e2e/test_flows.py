"""Whole conversations over the REST channel against the real services."""

from __future__ import annotations

import re

import httpx

from tests import staff
from tests.conftest import RASA_AUTH, texts

BOOKING = "TR20260001"
PHONE = "13812345678"


def test_greeting_is_answered(chat):
    reply = texts(chat("你好"))
    assert "您好" in reply


def test_itinerary_needs_booking_and_phone_then_answers(chat, api_url):
    assert "订单号" in texts(chat("我想查一下我的行程"))
    assert "后四位" in texts(chat(BOOKING))
    answer = texts(chat(PHONE[-4:]))
    booking = staff.booking(api_url, BOOKING)
    assert BOOKING in answer
    assert booking["product"] in answer
    # Verification is remembered: a follow-up question is answered straight away.
    follow_up = texts(chat("第二天住哪个酒店？"))
    hotel = booking["itinerary"][1]["hotel"]
    assert hotel in follow_up


def test_wrong_phone_gets_no_itinerary(chat, api_url):
    chat("帮我查下行程")
    chat(BOOKING)
    reply = texts(chat("0000"))
    assert (
        "对不上" in reply and "后四位" in reply
    )  # the booking number is kept: only the digits are asked again
    booking = staff.booking(api_url, BOOKING)
    assert booking["product"] not in reply
    for day in booking["itinerary"]:
        assert not day.get("hotel") or day["hotel"] not in reply


def test_unknown_booking_gets_the_same_polite_answer(chat):
    chat("查一下行程")
    chat("TR99999999")
    assert "对不上" in texts(chat("1234"))  # same words as a wrong phone: nothing disclosed


def test_malformed_booking_number_is_asked_again(chat):
    chat("我要查行程")
    reply = texts(chat("TR123"))
    assert "格式不正确" in reply or "订单号" in reply


def test_complaint_creates_a_ticket_in_the_api(chat, api_url):
    assert "订单号" in texts(chat("我要投诉"))
    assert "描述" in texts(chat(BOOKING))
    description = "导游在车上一直骂人，态度特别恶劣，还威胁不买东西就不让下车"
    assert "时间" in texts(chat(description))
    assert "处理" in texts(chat("12月6号上午，从大理去丽江的大巴上"))
    reply = texts(chat("我要他道歉"))
    assert "同意" in reply  # consent asked before name and phone
    assert "称呼" in texts(chat("同意"))
    assert "手机号" in texts(chat("我叫张伟"))
    summary = texts(chat(PHONE))
    assert "确认" in summary and BOOKING in summary and "道歉" in summary
    assert PHONE not in summary  # masked even in the traveller's own summary
    done = texts(chat("确认提交"))
    match = re.search(r"C\d{11,}", done)
    assert match, done
    assert "没太明白" not in done  # the dialogue waits after the ticket, no fallback
    ticket = httpx.get(
        f"{api_url}/tickets/{match.group(0)}",
        headers={"Authorization": "Bearer dev-service-token", "X-Sender-Id": chat.sender},
    )
    assert ticket.status_code == 200
    body = ticket.json()
    assert body["description"] == description
    assert body["booking_ref"] == BOOKING
    assert body["request"] == "apology"
    assert body["name"] == "张伟"
    # The traveller reads the API's labels: the category in the summary, every step's deadline.
    assert f"初步分类：{body['category_label']}" in summary
    assert all(f"· {d['label']}：" in done for d in body["deadlines"]) and "首次响应" in done


def test_complaint_with_an_interruption_and_corrections(chat, api_url):
    chat("我要投诉")
    chat(BOOKING)
    description = "酒店房间的空调坏了一整晚，前台一直没人来修"
    assert "时间" in texts(chat(description))
    # A policy question halfway: answered, then the same question again.
    reply = texts(chat("行李额是多少"))
    assert "行李" in reply and "什么时间" in reply
    assert "处理" in texts(chat("12月4号晚上，在丽江的酒店"))
    # A correction of an earlier answer in the traveller's words; the form goes on.
    reply = texts(chat("时间说错了，是12月5号晚上，在丽江的酒店"))
    assert "已更正" in reply and "处理" in reply
    chat("我要求赔偿")
    chat("同意")
    chat("我叫李娜")
    summary = texts(chat(PHONE))
    assert "12月5号晚上" in summary and "李娜" in summary and "确认" in summary
    # A correction at the summary shows the summary again with the new value.
    summary = texts(chat("名字写错了，应该是李雪"))
    assert "已更正" in summary and "李雪" in summary and "确认" in summary
    done = texts(chat("确认"))
    match = re.search(r"C\d{11,}", done)
    assert match, done
    body = httpx.get(
        f"{api_url}/tickets/{match.group(0)}",
        headers={"Authorization": "Bearer dev-service-token", "X-Sender-Id": chat.sender},
    ).json()
    assert body["name"] == "李雪"
    assert "12月5号晚上" in body["occurred_at"]
    assert body["request"] == "compensation"
    assert body["description"] == description


def test_a_bare_no_at_the_summary_asks_what_to_change_and_keeps_the_complaint(chat):
    chat("昨天晚上在丽江的酒店房间里发现蟑螂，床单也是脏的，我要求退款")
    chat(BOOKING)
    chat("同意")
    chat("我叫王芳")
    assert "确认" in texts(chat(PHONE))
    reply = texts(chat("不对"))
    assert "哪一项" in reply and "取消" not in reply.split("如果")[0]
    # Naming the field without its value asks for it again, then shows the summary.
    assert "什么时间" in texts(chat("时间地点说错了"))
    summary = texts(chat("前天晚上，在大理的客栈"))
    assert "前天晚上" in summary and "确认" in summary
    done = texts(chat("确认"))
    assert re.search(r"C\d{11,}", done) and "没太明白" not in done


def test_complaint_reuses_what_the_first_message_said(chat):
    first = texts(chat("昨天晚上在丽江的酒店房间里发现蟑螂，床单也是脏的，我要求退款"))
    assert "订单号" in first
    reply = texts(chat(BOOKING))
    # Description, time/place and request were all in the first message: straight to consent.
    assert "同意" in reply and "描述" not in reply and "时间" not in reply


def test_complaint_can_be_cancelled(chat):
    chat("我要投诉")
    chat(BOOKING)
    # "取消" inside a complaint asks once before anything is dropped.
    assert "确定放弃" in texts(chat("算了，不投诉了"))
    assert "已取消本次投诉" in texts(chat("是的"))


def test_bad_input_gets_a_polite_reply_and_the_bot_keeps_going(chat):
    for message in ["啊" * 5000, "😀😀😀", "   ", "asdfghjkl qwerty"]:
        replies = chat(message)
        assert replies, f"no reply to {message[:10]!r}"
        assert all(r.get("text") for r in replies)
    assert "您好" in texts(chat("你好"))


def test_response_selector_runs_only_for_policy_questions(rasa_url):
    def parse(text):
        response = httpx.post(f"{rasa_url}/model/parse", headers=RASA_AUTH, json={"text": text}, timeout=30)
        response.raise_for_status()
        return response.json()

    question = parse("退團要扣多少錢")  # traditional characters
    assert question["intent"]["name"] == "policy"
    assert question["response_selector"]["policy"]["response"]["intent_response_key"] == "policy/refund"
    greeting = parse("你好")
    assert greeting["intent"]["name"] == "greet"
    assert (
        not greeting.get("response_selector", {})
        .get("policy", {})
        .get("response", {})
        .get("intent_response_key")
    )
