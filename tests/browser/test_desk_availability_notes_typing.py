"""Issue 15's remaining desk features in Debian's Chromium, against the real services: the
traveller in the widget, an agent and a supervisor in the console.

- Nobody online: the bot says so (or, out of hours, when agents are back) instead of a wait
  in minutes; the supervisor sees who is online, away or offline, live.
- The agent chooses 离开 in the header and the supervisor's desk shows it.
- Typing both ways during the handoff: 对方正在输入… in the console while the traveller types,
  客服正在输入… in the widget while the agent types, gone when the message arrives.
- A private note written in the conversation pane shows in the transcript and never in the
  widget, not even in its server-side history after a reload.
- axe-core: no serious or critical violation on the new parts (console header, roster,
  notes, the widget's cue). Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import pytest

from tests.browser.test_console_accessibility import assert_accessible
from tests.browser.test_handoff_browser import (
    TIMEOUT,
    bubbles,
    console_login,
    handoff_for,
    send,
    wait_for_bubble,
)
from tests.e2e.test_handoff import http, login

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

NOTE = "内部备注：旅客情绪激动，先联系导游核实再回复"


def desk(console_api: str, supervisor: dict) -> dict:
    response = http.get(f"{console_api}/auth/presence", headers=supervisor)
    assert response.status_code == 200, response.text
    return response.json()


def everyone_offline(console_api: str) -> None:
    """Agents other tests left online (a login is online) go offline, as at a shift's start."""
    for username in ("agent1", "agent2"):
        headers = login(console_api, username)
        assert (
            http.put(f"{console_api}/auth/presence", json={"status": "offline"}, headers=headers).status_code
            == 200
        )


def test_availability_typing_and_private_notes_between_widget_and_console(
    browser, console_api, rasa_url, screenshots
):
    traveller_ctx = browser.new_context(viewport={"width": 1000, "height": 760}, locale="zh-CN")
    agent_ctx = browser.new_context(viewport={"width": 1400, "height": 860}, locale="zh-CN")
    boss_ctx = browser.new_context(viewport={"width": 1400, "height": 860}, locale="zh-CN")
    traveller, agent, boss = traveller_ctx.new_page(), agent_ctx.new_page(), boss_ctx.new_page()
    agent.on("dialog", lambda dialog: dialog.accept())
    try:
        everyone_offline(console_api)
        supervisor = login(console_api, "supervisor")
        now = desk(console_api, supervisor)
        assert now["online_agents"] == 0

        # --- nobody online: the traveller is told so, not a made-up wait
        traveller.goto(f"{console_api}/?rasa={rasa_url}&open=1")
        traveller.locator("#chat-status[data-state=online]").wait_for(timeout=TIMEOUT)
        conversation = traveller.evaluate("window.travelChat.conversationId")
        send(traveller, "我要转人工")
        wait_for_bubble(traveller, "bot", "排在第")
        told = bubbles(traveller, "bot")[-1]
        if now["open_now"]:
            assert "目前暂时没有客服在线" in told and "分钟" not in told, told
        else:
            assert "非服务时间" in told and "上班后" in told and "分钟" not in told, told
        traveller.locator("#chat-agent", has_text="正在为您转接人工客服").wait_for(timeout=10_000)

        # --- the supervisor's desk shows who is online; the agent logs in and is online
        console_login(boss, console_api, "supervisor")
        roster = boss.locator("#roster")
        roster.wait_for(timeout=10_000)
        boss.locator("#roster-list li", has_text="张敏").locator(".state.offline").wait_for(timeout=10_000)
        console_login(agent, console_api, "agent1")
        # The chooser shows the API's answer to the first heartbeat (its own first option until then).
        agent.locator("#presence-dot.online").wait_for(timeout=10_000)
        assert agent.locator("#presence").input_value() == "online"
        boss.locator("#roster-list li", has_text="张敏").locator(".state.online").wait_for(timeout=15_000)
        assert "在线客服 1 人" in boss.locator("#roster-hours").inner_text()

        # --- the agent takes the conversation
        handoff = handoff_for(console_api, supervisor, conversation)
        agent.locator(f'.queue-item[data-id="{handoff["id"]}"]').click()
        agent.locator("#take").click()
        agent.locator("#conv-meta", has_text="服务中").wait_for(timeout=10_000)
        traveller.locator("#chat-agent", has_text="张敏").wait_for(timeout=10_000)

        # --- the traveller types: the console says so; they stop: it goes
        assert agent.locator("#conv-typing").inner_text() == ""
        traveller.locator("#chat-input").press_sequentially("我们在东门", delay=60)
        agent.locator("#conv-typing", has_text="对方正在输入…").wait_for(timeout=5_000)
        traveller.fill("#chat-input", "")
        traveller.locator("#chat-input").dispatch_event("input")
        agent.wait_for_function("document.getElementById('conv-typing').textContent === ''", timeout=5_000)

        # --- the agent types: the widget says so; the message arrives and the cue goes
        assert traveller.locator("#chat-typing").is_hidden()
        agent.locator("#reply-text").press_sequentially("您好，我马上联系导游", delay=60)
        traveller.locator("#chat-typing", has_text="客服正在输入…").wait_for(timeout=5_000)
        assert_accessible(traveller, "widget with the agent's typing cue")
        traveller.screenshot(path=str(screenshots / "widget-agent-typing.png"))
        agent.press("#reply-text", "Enter")
        wait_for_bubble(traveller, "agent", "马上联系导游", timeout=10_000)
        traveller.wait_for_function("document.getElementById('chat-typing').hidden", timeout=5_000)

        # --- a private note: in the transcript by time, never in the widget
        agent.fill("#reply-text", NOTE)
        agent.locator("#note-send").click()
        note = agent.locator("#transcript .line.note", has_text="旅客情绪激动")
        note.wait_for(timeout=5_000)
        assert "内部备注（仅客服可见）· 张敏" in note.inner_text()
        lines = agent.locator("#transcript .line").evaluate_all("nodes => nodes.map(n => n.className)")
        assert lines[-1] == "line note"  # after the agent's message it followed
        send(traveller, "好的谢谢")
        agent.locator("#transcript .line.traveller .text", has_text="好的谢谢").wait_for(timeout=5_000)
        assert agent.locator("#transcript .line").evaluate_all("n => n.map(x => x.className)")[-2:] == [
            "line note",
            "line traveller",
        ]
        assert_accessible(agent, "console with a note, typing cue and presence")
        agent.screenshot(path=str(screenshots / "console-note-presence-desktop.png"))
        traveller.reload()  # the server-side history, from the tracker
        traveller.locator("#chat-status[data-state=online]").wait_for(timeout=TIMEOUT)
        wait_for_bubble(traveller, "agent", "马上联系导游", timeout=10_000)
        assert "旅客情绪激动" not in traveller.locator("#chat-log").inner_text()

        # --- the agent steps away; the supervisor sees it
        agent.locator("#presence").select_option("away")
        agent.locator("#presence-dot.away").wait_for(timeout=5_000)
        boss.locator("#roster-list li", has_text="张敏").locator(".state.away").wait_for(timeout=15_000)
        assert desk(console_api, supervisor)["online_agents"] == 0
        assert_accessible(boss, "supervisor's desk with the roster")
        boss.screenshot(path=str(screenshots / "console-roster-supervisor.png"))

        # --- hand back and log out: offline
        agent.locator("#presence").select_option("online")
        agent.locator("#presence-dot.online").wait_for(timeout=5_000)
        agent.locator("#close").click()
        agent.locator("#conv-meta", has_text="已结束").wait_for(timeout=10_000)
        agent.locator("#logout").click()
        boss.locator("#roster-list li", has_text="张敏").locator(".state.offline").wait_for(timeout=15_000)
    finally:
        for ctx in (traveller_ctx, agent_ctx, boss_ctx):
            ctx.close()


def test_the_header_and_the_roster_on_a_phone(browser, console_api, rasa_url, screenshots):
    """375 px: the header's status chooser and the supervisor's roster fit without sideways
    scrolling, work by keyboard with visible focus, and pass axe-core."""
    from tests.browser.test_console_accessibility import PHONE, focus_is_visible, no_sideways_scroll

    ctx = browser.new_context(viewport=PHONE, locale="zh-CN", has_touch=True, is_mobile=True)
    page = ctx.new_page()
    try:
        console_login(page, console_api, "supervisor")
        page.locator("#roster-list li", has_text="王芳").locator(".state.online").wait_for(timeout=15_000)
        assert no_sideways_scroll(page)
        chooser = page.locator("#presence")
        # The first heartbeat's answer sets the chooser: a later answer would undo the change below.
        page.locator("#presence-dot.online").wait_for(timeout=10_000)
        chooser.focus()
        assert focus_is_visible(chooser)
        page.keyboard.press("ArrowDown")  # a select changes with the keyboard alone
        page.locator("#presence-dot.away").wait_for(timeout=5_000)
        page.locator("#roster-list li", has_text="王芳").locator(".state.away").wait_for(timeout=15_000)
        assert_accessible(page, "supervisor's desk on a phone")
        page.locator("#roster").scroll_into_view_if_needed()
        page.screenshot(path=str(screenshots / "console-roster-phone.png"))
        chooser.select_option("online")
        page.locator("#presence-dot.online").wait_for(timeout=5_000)
    finally:
        ctx.close()
