"""The console as agents work in it: Chinese labels instead of codes, button presses by what
they meant, names instead of usernames, a refused take that stays visible, canned replies.

Real services: the traveller's messages (button payloads included) go through Rasa's REST
channel, the bot queues the handoff with its summary through the API's service token, two
agents work in Debian's Chromium. Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import re
import uuid

import pytest

from tests.browser.test_handoff_browser import console_login
from tests.e2e.test_handoff import http

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SERVICE = {"Authorization": "Bearer dev-service-token"}
# Codes and keys agents saw before (issue 15): none may show on the desk.
INTERNALS = re.compile(
    r"complaint_|verify_grant|fix/compensation|\bfix\b|compensation|request_human|/affirm|/inform|"
    r"\brest\b|socketio|\bagent[12]\b|\bsupervisor\b|\burgent\b|\bgeneral\b"
)


def open_handoff(console_api: str, rasa_url: str, severity: str = "general") -> dict:
    """A conversation as the bot leaves it for an agent: the traveller typed and pressed buttons
    (payloads through Rasa's REST channel), then the bot queued it with the slots it had."""
    sender = f"console-{uuid.uuid4().hex[:10]}"
    for message in ("导游在车上骂人，态度非常差", '/inform{"complaint_request": "fix"}', "/affirm"):
        response = http.post(f"{rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": message})
        assert response.status_code == 200, response.text
    handoff = http.post(
        f"{console_api}/handoffs",
        headers=SERVICE,
        json={
            "conversation_id": sender,
            "channel": "rest",
            "reason": "request_human",
            "severity": severity,
            "summary": {
                "complaint_description": "导游在车上骂人，态度非常差",
                "complaint_when_where": "11月28日 大巴上",
                "complaint_request": "fix/compensation",
                "itinerary_item": "meeting,return_flight",
                "complaint_consent": True,
                "verify_grant": "grant-secret-123",
                "last_message": "/affirm",
            },
        },
    )
    assert handoff.status_code in (200, 201), handoff.text
    return handoff.json()


def test_agents_see_labels_button_meanings_names_and_a_lasting_refusal(
    browser, console_api, rasa_url, screenshots
):
    handoff = open_handoff(console_api, rasa_url)
    first = browser.new_context(viewport={"width": 1400, "height": 860}, locale="zh-CN")
    second = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    agent1, agent2 = first.new_page(), second.new_page()
    try:
        console_login(agent1, console_api, "agent1")
        console_login(agent2, console_api, "agent2")
        assert agent1.locator("#whoami").inner_text().startswith("张敏")

        item = agent1.locator(f'.queue-item[data-id="{handoff["id"]}"]')
        item.wait_for(timeout=10_000)
        assert "一般 · 旅客要求人工" in item.inner_text() and "网页接口" in item.inner_text()
        # The second agent opens the same waiting conversation first.
        agent2.locator(f'.queue-item[data-id="{handoff["id"]}"] button').click()
        agent2.locator("#take").wait_for(timeout=10_000)

        item.locator("button").click()
        agent1.locator("#take").click()
        agent1.locator("#conv-meta", has_text="服务中（张敏）").wait_for(timeout=10_000)
        # Summary: labels in Chinese, several requests by name, the bot's credential not shown.
        summary = agent1.locator("#summary").inner_text()
        assert "时间地点" in summary and "11月28日 大巴上" in summary
        assert "整改/解决问题、赔偿" in summary and "同意记录个人信息" in summary
        assert "集合时间地点、回程航班" in summary and "return_flight" not in summary
        assert "grant-secret-123" not in summary
        # The buttons the traveller pressed, by what they meant.
        traveller = agent1.locator("#transcript .line.traveller .text")
        traveller.filter(has_text="确认/同意").first.wait_for(timeout=10_000)
        lines = traveller.all_inner_texts()
        assert any("点击按钮" in line and "整改/解决问题" in line for line in lines), lines
        assert not any("[按钮]" in line or line.startswith("/") for line in lines), lines
        assert "网页接口" in agent1.locator("#conv-meta").inner_text()
        desk = agent1.locator("#desk").inner_text()
        assert not INTERNALS.search(desk), INTERNALS.search(desk)
        agent1.screenshot(path=str(screenshots / "console-labels.png"))

        # The second agent is refused, by the first agent's name, and the refusal stays.
        agent2.locator("#take").click()
        refusal = agent2.locator("#conv-error", has_text="张敏")
        refusal.wait_for(timeout=10_000)
        assert "不能重复接入" in refusal.inner_text() and "agent1" not in refusal.inner_text()
        agent2.wait_for_timeout(3_500)  # more than one queue poll (2 s) and three transcript polls (1 s)
        assert "该会话已由客服 张敏 接入" in agent2.locator("#conv-error").inner_text()
        assert "服务中（张敏）" in agent2.locator("#conv-meta").inner_text()
        agent2.screenshot(path=str(screenshots / "console-take-refused.png"))
    finally:
        first.close()
        second.close()


def test_canned_replies_by_slash_and_shortcut_with_the_keyboard_only(
    browser, console_api, rasa_url, screenshots
):
    handoff = open_handoff(console_api, rasa_url)
    replies = http.get(f"{console_api}/canned-replies", headers=staff_headers(console_api)).json()["replies"]
    sorry = next(r for r in replies if r["key"] == "sorry")
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = context.new_page()
    try:
        console_login(page, console_api, "agent1")
        page.locator(f'.queue-item[data-id="{handoff["id"]}"] button').click()
        page.locator("#take").click()
        page.locator("#conv-meta", has_text="服务中").wait_for(timeout=10_000)
        box = page.locator("#reply-text")
        listbox = page.get_by_role("listbox", name="常用语")

        # "/" opens the whole list; typing filters it; arrows move; Enter inserts (and does not send).
        box.focus()
        box.press("/")
        listbox.wait_for(timeout=5_000)
        assert listbox.get_by_role("option").count() == len(replies) >= 12
        box.type("sor")
        assert listbox.get_by_role("option").count() == 1
        assert box.get_attribute("aria-activedescendant") == "canned-0"
        page.screenshot(path=str(screenshots / "console-canned-replies.png"))
        box.press("Enter")
        assert listbox.is_hidden()
        assert box.input_value() == sorry["text"]

        # Esc closes the list and keeps what was typed; no list for a "/" inside a word.
        box.fill("")
        box.type("请看 /")
        listbox.wait_for(timeout=5_000)
        box.press("Escape")
        assert listbox.is_hidden() and box.input_value() == "请看 /"
        box.fill("")
        box.type("3/5")
        assert listbox.is_hidden()

        # Ctrl+/ opens the list at the caret; ArrowDown picks the second reply; the text goes after.
        box.fill("您好。")
        box.press("End")
        box.press("Control+/")
        listbox.wait_for(timeout=5_000)
        box.press("ArrowDown")
        assert listbox.get_by_role("option").nth(1).get_attribute("aria-selected") == "true"
        box.press("Enter")
        assert box.input_value() == "您好。 " + replies[1]["text"]
        assert box.evaluate("node => node === document.activeElement")

        # The list also takes the focus (Shift+Tab; it scrolls): the same keys work there.
        box.fill("")
        box.type("/")
        listbox.wait_for(timeout=5_000)
        box.press("Shift+Tab")
        assert listbox.evaluate(
            "node => node === document.activeElement && getComputedStyle(node).outlineStyle !== 'none'"
        )
        listbox.press("ArrowUp")  # wraps round to the last reply
        listbox.press("Enter")
        assert box.input_value() == replies[-1]["text"]
        assert box.evaluate("node => node === document.activeElement") and listbox.is_hidden()
        box.fill("您好。 " + replies[1]["text"])

        # Sent as an ordinary reply.
        box.press("Enter")
        page.locator("#transcript .line.agent .text", has_text=replies[1]["text"][:12]).wait_for(
            timeout=10_000
        )
        assert "客服 张敏" in page.locator("#transcript .line.agent .who").last.inner_text()
    finally:
        context.close()


def staff_headers(base: str) -> dict:
    from tests import staff

    return staff.login(base, "supervisor", http)


def test_the_console_keeps_no_copy_of_the_label_tables():
    """Labels come from GET /labels (issue 18): none of its Chinese labels is written in console.js."""
    from tests.services import ROOT

    script = (ROOT / "api" / "app" / "static" / "console.js").read_text(encoding="utf-8")
    for copied in (
        "旅客要求人工",
        "调查核实中",
        "等待接入",
        "网站聊天窗口",
        "时间地点",
        "服务态度",
        "整改/解决问题",
    ):
        assert copied not in script, copied
