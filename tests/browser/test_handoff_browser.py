"""Two pages in a real browser: a traveller in the chat widget, an agent in the console.

The traveller asks for a human, the agent logs in, takes over, they talk both ways (the
widget also survives a reload and a dropped socket), the agent hands back and the bot
answers the next question. HTML/script in messages must show as text on both pages.
Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import time

import pytest

from tests import staff
from tests.conftest import RASA_AUTH
from tests.e2e.test_handoff import http, login

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

XSS_TRAVELLER = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>救命'
XSS_AGENT = '<b>加粗</b><img src=x onerror="window.__xss=3">请放心'
TIMEOUT = 30_000  # ms; the bot's first answers can be slow on a loaded machine


def bubbles(page, kind: str) -> list[str]:
    return page.locator(f"#chat-log .msg.{kind} .bubble").all_inner_texts()


def wait_for_bubble(page, kind: str, text: str, timeout: int = TIMEOUT) -> None:
    page.locator(f"#chat-log .msg.{kind} .bubble", has_text=text).last.wait_for(timeout=timeout)


def send(page, text: str) -> None:
    page.fill("#chat-input", text)
    page.press("#chat-input", "Enter")


def console_login(page, base: str, username: str) -> None:
    """Log in to the console as an agent does. On the account's first login of the session the
    console asks for a new password (current one, new one twice) before it opens the desk."""
    page.goto(f"{base}/console")
    page.get_by_label("账号").fill(username)
    page.get_by_label("密码", exact=True).fill(staff.password(username))
    page.click("#login-form button[type=submit]")
    if staff.needs_change(username):
        page.locator("#password-view").wait_for(timeout=10_000)
        assert page.locator("#desk").is_hidden()
        page.get_by_label("当前密码").fill(staff.initial_password(username))
        page.get_by_label("新密码", exact=True).fill(staff.session_password(username))
        page.get_by_label("再次输入新密码").fill(staff.session_password(username))
        page.get_by_role("button", name="修改密码并进入工作台").click()
        page.locator("#desk").wait_for(timeout=10_000)
        staff.mark_changed(username)
    else:
        page.locator("#desk").wait_for(timeout=10_000)
    assert page.locator("#password-view").is_hidden()
    # The desk shows before its labels and canned replies are read (GET /labels, then the first
    # queue poll writes 等待 …): a page used sooner draws codes instead of Chinese labels.
    page.locator("#queue-count", has_text="等待").wait_for(timeout=10_000)


def handoff_for(console_api: str, headers: dict, conversation_id: str) -> dict:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        # Staff see conversation ids masked; a supervisor looks one up by the raw id.
        params = {"conversation_id": conversation_id}
        found = http.get(f"{console_api}/handoffs", params=params, headers=headers).json()["items"]
        if found:
            return found[0]
        time.sleep(0.3)
    raise AssertionError(f"no handoff for {conversation_id}")


def test_traveller_and_agent_talk_through_widget_and_console(browser, console_api, rasa_url, screenshots):
    traveller_ctx = browser.new_context(viewport={"width": 1000, "height": 760}, locale="zh-CN")
    agent_ctx = browser.new_context(viewport={"width": 1400, "height": 860}, locale="zh-CN")
    traveller, agent = traveller_ctx.new_page(), agent_ctx.new_page()
    agent.on("dialog", lambda dialog: dialog.accept())
    try:
        # --- the traveller opens the widget (page on the API's port, Rasa on its own port)
        traveller.goto(f"{console_api}/?rasa={rasa_url}&open=1")
        traveller.locator("#chat-status[data-state=online]").wait_for(timeout=TIMEOUT)
        # The server issued the session id (a signed token); Rasa and the console know the
        # conversation it names.
        session_id = traveller.evaluate("window.travelChat.conversationId")
        assert traveller.evaluate("window.travelChat.sessionId").startswith(session_id + ".")
        send(traveller, "你好")
        # nth(1): the answer, after the welcome (which also says 您好)
        traveller.locator("#chat-log .msg.bot .bubble", has_text="您好").nth(1).wait_for(timeout=TIMEOUT)
        send(traveller, "我要转人工")
        wait_for_bubble(traveller, "bot", "排在第")
        waiting = traveller.locator("#chat-log .msg.bot").count()
        send(traveller, XSS_TRAVELLER)  # written while waiting: the paused bot does not answer it
        wait_for_bubble(traveller, "user", "救命")
        assert bubbles(traveller, "user")[-1] == XSS_TRAVELLER
        # ... but a notice follows, relayed in the background after the turn (the waiting
        # acknowledgement, or an emergency's advice): in before the bot's bubbles are counted below.
        traveller.wait_for_function(
            f"document.querySelectorAll('#chat-log .msg.bot').length > {waiting}", timeout=TIMEOUT
        )

        # --- the agent logs in and sees the conversation in the queue
        console_login(agent, console_api, "agent1")
        supervisor = login(console_api, "supervisor")
        handoff = handoff_for(console_api, supervisor, session_id)
        item = agent.locator(f'.queue-item[data-id="{handoff["id"]}"]')
        item.wait_for(timeout=10_000)
        assert "旅客要求人工" in item.inner_text()
        item.click()
        agent.locator("#take").click()
        agent.locator("#conv-meta", has_text="服务中").wait_for(timeout=10_000)
        # The transcript shows the message written while waiting, as text.
        agent.locator("#transcript .line.traveller .text", has_text="救命").wait_for(timeout=5_000)
        shown = agent.locator("#transcript .line.traveller .text").all_inner_texts()
        assert XSS_TRAVELLER in shown
        assert agent.locator("#transcript img").count() == 0

        # A second agent is refused.
        refused = http.post(
            f"{console_api}/handoffs/{handoff['id']}/take", headers=login(console_api, "agent2")
        )
        assert refused.status_code == 409

        # --- agent -> traveller, pushed over socket.io and labelled as a person
        agent.fill("#reply-text", "您好，我是客服，正在为您联系导游，请稍等。")
        agent.press("#reply-text", "Enter")
        wait_for_bubble(traveller, "agent", "正在为您联系导游", timeout=10_000)
        assert "人工客服" in traveller.locator("#chat-log .msg.agent .who").last.inner_text()
        agent.fill("#reply-text", XSS_AGENT)
        agent.click("#reply-send")
        wait_for_bubble(traveller, "agent", "请放心", timeout=10_000)
        assert bubbles(traveller, "agent")[-1] == XSS_AGENT
        assert traveller.locator("#chat-log img").count() == 0

        # --- traveller -> agent, visible in the console within 2 seconds
        bot_count = len(bubbles(traveller, "bot"))
        send(traveller, "好的，我们在景区东门等")
        started = time.monotonic()
        agent.locator("#transcript .line.traveller .text", has_text="景区东门").wait_for(timeout=2_500)
        assert time.monotonic() - started < 2.5
        traveller.wait_for_timeout(1_000)
        assert len(bubbles(traveller, "bot")) == bot_count  # the bot stays silent while the agent holds it

        # --- a reload keeps the conversation and the socket rejoins the session's room
        traveller.reload()
        traveller.locator("#chat-status[data-state=online]").wait_for(timeout=TIMEOUT)
        assert traveller.evaluate("window.travelChat.conversationId") == session_id
        # The history follows session_confirm; "online" may come first (the widget's fallback).
        wait_for_bubble(traveller, "agent", "请放心", timeout=10_000)
        assert XSS_AGENT in bubbles(traveller, "agent")
        agent.fill("#reply-text", "导游十分钟后到东门。")
        agent.press("#reply-text", "Enter")
        wait_for_bubble(traveller, "agent", "十分钟后到东门", timeout=10_000)

        # --- a dropped connection reconnects by itself
        traveller.evaluate("window.travelChat.socket.io.engine.close()")
        traveller.locator("#chat-status[data-state=online]").wait_for(timeout=TIMEOUT)
        agent.fill("#reply-text", "司机已出发。")
        agent.press("#reply-text", "Enter")
        wait_for_bubble(traveller, "agent", "司机已出发", timeout=10_000)

        assert traveller.evaluate("window.__xss") is None and agent.evaluate("window.__xss") is None
        traveller.screenshot(path=str(screenshots / "widget-during-handoff.png"))
        agent.screenshot(path=str(screenshots / "console-during-handoff.png"))

        # --- hand back: the bot answers the next question
        agent.locator("#hand-back").click()
        agent.locator("#conv-meta", has_text="已交还机器人").wait_for(timeout=10_000)
        wait_for_bubble(traveller, "agent", "智能助手继续为您解答", timeout=10_000)
        before = len(bubbles(traveller, "bot"))
        send(traveller, "你好")
        traveller.wait_for_function(
            f"document.querySelectorAll('#chat-log .msg.bot').length > {before}", timeout=TIMEOUT
        )
        assert "您好" in bubbles(traveller, "bot")[-1]
        state = http.get(f"{rasa_url}/conversations/{session_id}/tracker", headers=RASA_AUTH).json()
        assert state["paused"] is False
        stored = http.get(f"{console_api}/handoffs/{handoff['id']}", headers=supervisor).json()
        assert stored["status"] == "returned" and stored["first_reply_wait_seconds"] is not None

        traveller.screenshot(path=str(screenshots / "widget-after-hand-back.png"))
        agent.screenshot(path=str(screenshots / "console-after-hand-back.png"))
    finally:
        traveller_ctx.close()
        agent_ctx.close()


def test_console_requires_login_and_shows_a_wrong_password(browser, console_api):
    page = browser.new_page()
    try:
        page.goto(f"{console_api}/console")
        assert page.locator("#desk").is_hidden()
        page.fill("#login-user", "agent1")
        page.fill("#login-pass", "wrong-password")
        page.click("#login-form button[type=submit]")
        page.locator("#login-error", has_text="账号或密码错误").wait_for(timeout=5_000)
        assert page.locator("#desk").is_hidden()
    finally:
        page.close()


def test_console_shows_and_updates_the_linked_ticket_of_an_urgent_handoff(browser, console_api, screenshots):
    service = {"Authorization": "Bearer dev-service-token"}
    ticket = http.post(  # the first ticket loads the complaint classifier: allow time
        f"{console_api}/tickets",
        headers=service,
        json={
            "phone": "13812345678",
            "booking_ref": "TR20260001",
            "channel": "socketio",
            "description": "<i>老人</i>在酒店摔倒骨折，现在还在医院，需要帮助",
            "category": "safety",
            "severity": "urgent",
        },
    ).json()
    conversation = f"browser-{int(time.time() * 1000)}"
    handoff = http.post(
        f"{console_api}/handoffs",
        headers=service,
        json={
            "conversation_id": conversation,
            "channel": "socketio",
            "reason": "urgent_complaint",
            "ticket_no": ticket["ticket_no"],
            "summary": {
                "booking_ref": "TR20260001",
                "phone": "13812345678",
                "complaint_description": "<i>老人</i>在酒店摔倒骨折",
            },
        },
    ).json()
    page = browser.new_page(viewport={"width": 1400, "height": 860}, locale="zh-CN")
    page.on("dialog", lambda dialog: dialog.accept())
    try:
        console_login(page, console_api, "supervisor")
        item = page.locator(f'.queue-item[data-id="{handoff["id"]}"]')
        item.wait_for(timeout=10_000)
        assert "red" in item.get_attribute("class") and "紧急" in item.inner_text()
        item.click()
        page.locator("#take").click()
        page.locator("#conv-meta", has_text="服务中").wait_for(timeout=10_000)
        page.locator("#ticket-fields dd", has_text=ticket["ticket_no"]).wait_for(timeout=10_000)
        fields = page.locator("#ticket-fields").inner_text()
        assert "安全" in fields and "紧急" in fields and "<i>老人</i>" in fields
        assert "<i>老人</i>在酒店摔倒骨折" in page.locator("#summary").inner_text()
        assert page.locator("#ticket-fields i, #summary i").count() == 0
        page.select_option("#ticket-status", "investigating")
        page.click("#ticket-transition button[type=submit]")
        page.locator("#ticket-msg", has_text="状态已更新").wait_for(timeout=10_000)
        page.fill("#ticket-note-text", "已电话联系旅客，导游陪同就医")
        page.click("#ticket-note button[type=submit]")
        page.locator("#ticket-notes li", has_text="导游陪同就医").wait_for(timeout=10_000)
        page.screenshot(path=str(screenshots / "console-linked-ticket.png"))
        page.locator("#close").click()
        page.locator("#conv-meta", has_text="已结束").wait_for(timeout=10_000)
        # Read as the supervisor: the service token reads only its own conversation's tickets.
        saved = http.get(
            f"{console_api}/tickets/{ticket['ticket_no']}", headers=login(console_api, "supervisor")
        ).json()
        assert saved["status"] == "investigating"
        assert any("人工会话记录" in n["text"] for n in saved["notes"])  # the transcript went to the ticket
    finally:
        page.close()


def test_a_late_refusal_of_an_ended_session_does_not_log_out_the_next_one(browser, console_api):
    """A queue poll still in flight when the agent logs out, answered 401 after they have logged
    in again, used to log out the new session too."""
    context = browser.new_context(locale="zh-CN")
    held: list = []
    old_token: dict = {}

    def hold_old_polls(route):
        if old_token and route.request.headers.get("authorization") == f"Bearer {old_token['value']}":
            held.append(route)  # answered below, after the next login
        else:
            route.continue_()

    try:
        page = context.new_page()
        console_login(page, console_api, "agent1")
        old_token["value"] = page.evaluate("JSON.parse(sessionStorage.getItem('console.auth')).token")
        context.route("**/handoffs**", hold_old_polls)
        deadline = time.monotonic() + 15
        while not held and time.monotonic() < deadline:
            page.wait_for_timeout(200)  # the queue is polled every 2 s
        assert held, "no queue poll with the first session's token"
        page.click("#logout")
        page.locator("#login-view").wait_for(timeout=10_000)
        # Log in again on the same page (console_login reloads it, which would drop the polls).
        page.get_by_label("账号").fill("agent1")
        page.get_by_label("密码", exact=True).fill(staff.password("agent1"))
        page.click("#login-form button[type=submit]")
        page.locator("#queue-count", has_text="等待").wait_for(timeout=10_000)
        new_token = page.evaluate("JSON.parse(sessionStorage.getItem('console.auth')).token")
        assert new_token != old_token["value"]
        for route in held:
            route.fulfill(status=401, content_type="application/json", body='{"detail": "session ended"}')
        # The refusal was for the ended session: the desk stays, the new session is kept.
        page.wait_for_timeout(1_000)
        assert page.locator("#desk").is_visible() and page.locator("#login-view").is_hidden()
        assert page.evaluate("JSON.parse(sessionStorage.getItem('console.auth')).token") == new_token
    finally:
        context.close()
