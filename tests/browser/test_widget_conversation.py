"""The widget shows the conversation the server holds (issue 15, item 1), in a real browser
against the real API, action server and Rasa.

A traveller asks for a human in one tab; a second tab of the same conversation shows the
traveller's own messages live; an agent takes the conversation (the widget says who joined,
a badge and the page title count the unread notice), writes while every tab is closed, and
the returning tab finds the reply in the server's history, with China-time timestamps.
The agent hands back (the header drops the agent). "新对话" asks inside the widget first,
and during a handoff tells the agent before leaving.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.browser.test_handoff_browser import bubbles, handoff_for, send, wait_for_bubble
from tests.conftest import RASA_AUTH
from tests.e2e.test_handoff import http, login

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TIMEOUT = 30_000  # ms; the bot's first answers can be slow on a loaded machine
# Counts how often the typing cue became visible (it is up only while the bot works).
WATCH_TYPING = """
window.__typingShown = 0;
document.addEventListener("DOMContentLoaded", () => {
  const cue = document.getElementById("chat-typing");
  new MutationObserver(() => { if (!cue.hidden) window.__typingShown += 1; })
    .observe(cue, { attributes: true, attributeFilter: ["hidden"] });
});
"""


def online(page) -> None:
    page.locator("#chat-status[data-state=online]").wait_for(timeout=TIMEOUT)


def tab_with_token(context, url: str, token: str):
    """Another tab of the same conversation: what "duplicate tab" or reopening a closed tab gives
    (the browser copies sessionStorage), here by handing the page the token before it loads."""
    page = context.new_page()
    page.add_init_script(
        f"if (!sessionStorage.getItem('travelchat.session_id'))"
        f" sessionStorage.setItem('travelchat.session_id', {json.dumps(token)});"
    )
    page.goto(url)
    online(page)
    return page


def china_time() -> str:
    return time.strftime("%H:%M", time.gmtime(time.time() + 8 * 3600))


def tracker_texts(rasa_url: str, conversation: str) -> list[str]:
    tracker = http.get(f"{rasa_url}/conversations/{conversation}/tracker", headers=RASA_AUTH).json()
    return [e.get("text") for e in tracker["events"] if e["event"] == "user"]


def test_history_from_the_server_other_tabs_notices_and_unread(browser, console_api, rasa_url, screenshots):
    url = f"{console_api}/?rasa={rasa_url}&open=1"
    context = browser.new_context(
        viewport={"width": 1000, "height": 760}, locale="zh-CN", timezone_id="America/New_York"
    )  # timestamps are China time anyway
    context.add_init_script(WATCH_TYPING)
    agent1 = login(console_api, "agent1")
    try:
        first = context.new_page()
        first.goto(url)
        online(first)
        token = first.evaluate("window.travelChat.sessionId")
        conversation = first.evaluate("window.travelChat.conversationId")
        send(first, "你好")
        # nth(1): the answer, after the welcome
        first.locator("#chat-log .msg.bot .bubble", has_text="您好").nth(1).wait_for(timeout=TIMEOUT)
        assert first.evaluate("window.__typingShown") >= 1  # "正在输入…" while the bot worked
        # The cue goes when the turn ends: the channel says so just after the last answer.
        first.locator("#chat-typing").wait_for(state="hidden", timeout=5_000)

        # A second tab of the conversation shows what was said, from the server.
        second = tab_with_token(context, url, token)
        assert second.evaluate("window.travelChat.conversationId") == conversation
        wait_for_bubble(second, "user", "你好")
        assert bubbles(second, "user") == ["你好"]
        # ... and the traveller's messages written in the first tab, live.
        send(first, "我要转人工")
        wait_for_bubble(second, "user", "我要转人工", timeout=5_000)
        wait_for_bubble(second, "bot", "排在第")
        for page in (first, second):
            page.locator("#chat-agent", has_text="正在为您转接人工客服").wait_for(timeout=10_000)

        # The traveller closes the widget in the first tab: focus goes back to the launcher.
        first.click("#chat-close")
        assert first.evaluate("document.activeElement.id") == "chat-launcher"
        assert first.locator("#chat-unread").is_hidden()

        # The agent takes it: every tab says who joined; the closed widget counts it as unread.
        handoff = handoff_for(console_api, login(console_api, "supervisor"), conversation)
        assert http.post(f"{console_api}/handoffs/{handoff['id']}/take", headers=agent1).status_code == 200
        wait_for_bubble(second, "agent", "已接入，正在为您处理", timeout=10_000)
        name = second.locator("#chat-log .msg.agent .who").last.inner_text().split("·")[-1].strip()
        assert name and name != "agent1"  # the agent's display name
        assert (
            second.locator("#chat-log .msg.agent .bubble").last.inner_text()
            == f"客服{name}已接入，正在为您处理。"
        )
        second.locator("#chat-agent[data-state=agent]", has_text=name).wait_for(timeout=5_000)
        first.locator("#chat-unread", has_text="1").wait_for(timeout=10_000)
        assert first.title().startswith("(1) 新消息")
        assert "1 条新消息" in first.get_attribute("#chat-launcher", "aria-label")
        first.screenshot(path=str(screenshots / "widget-unread-badge.png"))
        first.click("#chat-launcher")
        assert first.locator("#chat-unread").is_hidden() and not first.title().startswith("(")
        assert first.evaluate("document.activeElement.id") == "chat-input"
        # The widget open but the tab in the background: the title counts what arrives.
        first.evaluate("""() => {
            Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
            document.dispatchEvent(new Event("visibilitychange"));
        }""")
        http.post(
            f"{console_api}/handoffs/{handoff['id']}/messages",
            json={"text": "请稍等，我看一下您的行程。"},
            headers=agent1,
        ).raise_for_status()
        first.wait_for_function("document.title.startsWith('(1) 新消息')", timeout=10_000)
        first.evaluate("""() => {
            Object.defineProperty(document, "hidden", { configurable: true, get: () => false });
            document.dispatchEvent(new Event("visibilitychange"));
        }""")
        assert not first.title().startswith("(")

        # Every tab closes; the agent writes meanwhile.
        first.close()
        second.close()
        reply = "您好，导游十分钟后到东门接您。"
        china_before = china_time()
        sent = http.post(
            f"{console_api}/handoffs/{handoff['id']}/messages", json={"text": reply}, headers=agent1
        )
        assert sent.status_code == 201, sent.text

        # The traveller comes back: the reply is there, from the server, labelled and timed.
        back = tab_with_token(context, url, token)
        wait_for_bubble(back, "agent", "导游十分钟后到东门", timeout=10_000)
        assert bubbles(back, "user") == ["你好", "我要转人工"]
        back.locator("#chat-agent[data-state=agent]", has_text=name).wait_for(timeout=5_000)
        stamps = back.locator("#chat-log .msg .at").all_inner_texts()
        assert len(stamps) >= 5 and all(re.fullmatch(r"(\d+月\d+日 )?\d{2}:\d{2}", s) for s in stamps), stamps
        # China time (UTC+8), though the browser is in New York.
        assert back.locator("#chat-log .msg.agent .at").last.inner_text() in (china_before, china_time())
        datetime_attr = back.locator("#chat-log .msg.agent time").last.get_attribute("datetime")
        assert datetime_attr and datetime_attr.endswith("Z")
        back.screenshot(path=str(screenshots / "widget-history-after-return.png"))

        # The agent hands back: the farewell shows and the header no longer names the agent.
        assert http.post(f"{console_api}/handoffs/{handoff['id']}/return", headers=agent1).status_code == 200
        wait_for_bubble(back, "agent", "人工客服已结束本次服务", timeout=10_000)
        back.locator("#chat-agent").wait_for(state="hidden", timeout=5_000)

        # 新对话 asks first, inside the widget (no browser dialog); cancelling keeps everything.
        back.on("dialog", lambda dialog: pytest.fail(f"a browser dialog: {dialog.message}"))
        back.click("#chat-restart")
        back.locator("#chat-confirm").wait_for(timeout=5_000)
        assert "人工客服正在为您服务" not in back.locator("#chat-confirm-text").inner_text()
        assert back.evaluate("document.activeElement.id") == "chat-confirm-no"
        back.click("#chat-confirm-no")
        assert back.locator("#chat-confirm").is_hidden()
        assert back.evaluate("window.travelChat.conversationId") == conversation
        back.click("#chat-restart")
        back.click("#chat-confirm-yes")
        back.wait_for_function(
            f"window.travelChat.conversationId && window.travelChat.conversationId !== '{conversation}'",
            timeout=10_000,
        )
        assert bubbles(back, "user") == [] and bubbles(back, "agent") == []
        assert "（旅客已开始新对话）" not in tracker_texts(
            rasa_url, conversation
        )  # no handoff: nobody to tell
    finally:
        context.close()


def test_new_conversation_during_a_handoff_tells_the_agent(browser, console_api, rasa_url, screenshots):
    context = browser.new_context(viewport={"width": 1000, "height": 760}, locale="zh-CN")
    try:
        page = context.new_page()
        page.goto(f"{console_api}/?rasa={rasa_url}&open=1")
        online(page)
        conversation = page.evaluate("window.travelChat.conversationId")
        send(page, "我要转人工")
        wait_for_bubble(page, "bot", "排在第")
        page.locator("#chat-agent", has_text="正在为您转接人工客服").wait_for(timeout=10_000)
        page.click("#chat-restart")
        page.locator("#chat-confirm-text", has_text="人工客服正在为您服务").wait_for(timeout=5_000)
        page.screenshot(path=str(screenshots / "widget-new-conversation-confirm.png"))
        page.click("#chat-confirm-yes")
        page.wait_for_function(f"window.travelChat.conversationId !== '{conversation}'", timeout=10_000)
        online(page)
        assert "（旅客已开始新对话）" in tracker_texts(rasa_url, conversation)
        # The agent reading the waiting conversation sees it last.
        supervisor = login(console_api, "supervisor")
        handoff = handoff_for(console_api, supervisor, conversation)
        base = f"{console_api}/handoffs/{handoff['id']}"
        lines = http.get(f"{base}/transcript", headers=supervisor).json()["lines"]
        assert (lines[-1]["sender"], lines[-1]["text"]) == ("traveller", "（旅客已开始新对话）")
        assert http.post(f"{base}/close", headers=supervisor).status_code == 200
        # The new conversation works as a fresh one.
        send(page, "你好")
        page.locator("#chat-log .msg.bot .bubble", has_text="您好").nth(1).wait_for(timeout=TIMEOUT)
        assert bubbles(page, "user") == ["你好"]
    finally:
        context.close()


# The history arrives late (a slow server): after the widget's 1.5 s fallback has set it online.
LATE_HISTORY = """
(() => {
  let real;
  Object.defineProperty(window, "io", {
    configurable: true,
    get() { return real; },
    set(io) {
      real = Object.assign((...args) => {
        const socket = io(...args);
        const on = socket.on.bind(socket);
        socket.on = (event, handler) =>
          on(event, event === "history" ? (data) => setTimeout(() => handler(data), 4000) : handler);
        return socket;
      }, io);
    },
  });
})();
"""


def test_a_late_history_keeps_what_was_said_meanwhile(browser, console_api, rasa_url):
    context = browser.new_context(locale="zh-CN")
    context.add_init_script(LATE_HISTORY)
    try:
        page = context.new_page()
        page.goto(f"{console_api}/?rasa={rasa_url}&open=1")
        online(page)  # by the fallback: the history is still on its way
        send(page, "你好")
        wait_for_bubble(page, "user", "你好")
        # The history lands (read by the server before "你好") and is drawn: nothing said since is lost.
        page.wait_for_timeout(4_500)
        page.locator("#chat-log .msg.bot .bubble", has_text="您好").nth(1).wait_for(timeout=TIMEOUT)
        assert bubbles(page, "user") == ["你好"]
    finally:
        context.close()
