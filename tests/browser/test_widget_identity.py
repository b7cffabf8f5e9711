"""The widget's conversation identity in a real browser (issue 14, item 1).

The server issues the session id; the widget keeps it in this tab's sessionStorage only,
never makes one up (no Math.random, no crypto.randomUUID needed), cannot be made to resume
someone else's conversation, forgets it on "新对话", and takes ?rasa= only on this machine.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.e2e.test_handoff import http

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TIMEOUT = 30_000  # ms; the bot's first answers can be slow on a loaded machine
TOKEN = re.compile(r"^[0-9a-f]{32}\.[0-9a-z]+\.[0-9a-f]{32}$")
NO_RANDOM_UUID = "try { delete Crypto.prototype.randomUUID; } catch (e) {}"  # as on plain HTTP


def online(page) -> None:
    page.locator("#chat-status[data-state=online]").wait_for(timeout=TIMEOUT)


def chat_state(page) -> dict:
    return page.evaluate("""() => ({
        token: window.travelChat.sessionId,
        conversation: window.travelChat.conversationId,
        stored: sessionStorage.getItem("travelchat.session_id"),
        local: localStorage.getItem("travelchat.session_id"),
        localHistory: localStorage.getItem("travelchat.history"),
    })""")


def test_the_server_issues_the_id_and_only_this_tab_keeps_it(browser, api_url, rasa_url):
    context = browser.new_context(locale="zh-CN")
    context.add_init_script(NO_RANDOM_UUID)
    try:
        page = context.new_page()
        page.goto(f"{api_url}/?rasa={rasa_url}&open=1")
        online(page)
        first = chat_state(page)
        assert TOKEN.match(first["token"]), first
        assert first["stored"] == first["token"] and first["token"].startswith(first["conversation"] + ".")
        assert first["local"] is None and first["localHistory"] is None  # nothing left on a shared computer
        page.fill("#chat-input", "你好")
        page.press("#chat-input", "Enter")
        page.locator("#chat-log .msg.bot .bubble", has_text="您好").nth(1).wait_for(timeout=TIMEOUT)

        # A reload resumes the same conversation (the token is renewed).
        page.reload()
        online(page)
        assert chat_state(page)["conversation"] == first["conversation"]
        # The server's history comes after session_confirm, and "online" may come before it (the
        # widget's 1.5 s fallback for a server without history): wait for it to be drawn.
        expect(page.locator("#chat-log .msg.user .bubble", has_text="你好")).to_have_count(1, timeout=TIMEOUT)

        # Another tab is another conversation, and shows nothing of this one.
        other = context.new_page()
        other.goto(f"{api_url}/?rasa={rasa_url}&open=1")
        online(other)
        assert chat_state(other)["conversation"] != first["conversation"]
        assert other.locator("#chat-log .msg.user").count() == 0

        # 新对话: a new conversation from the server, the old one forgotten.
        page.click("#chat-restart")
        page.click("#chat-confirm-yes")  # it asks first (test_widget_conversation.py)
        online(page)
        page.wait_for_function(
            "window.travelChat.conversationId && "
            f"window.travelChat.conversationId !== '{first['conversation']}'"
        )
        fresh = chat_state(page)
        assert TOKEN.match(fresh["token"]) and fresh["stored"] == fresh["token"]
        assert page.locator("#chat-log .msg.user").count() == 0
        assert "你好" not in (page.evaluate("sessionStorage.getItem('travelchat.history')") or "")
    finally:
        context.close()


@pytest.mark.parametrize("planted", ["conversation", "made-up"])
def test_a_planted_session_id_does_not_open_someone_elses_conversation(browser, api_url, rasa_url, planted):
    victim_context = browser.new_context(locale="zh-CN")
    attacker_context = browser.new_context(locale="zh-CN")
    try:
        victim = victim_context.new_page()
        victim.goto(f"{api_url}/?rasa={rasa_url}&open=1")
        online(victim)
        victim_conversation = chat_state(victim)["conversation"]
        # What an agent, a log line or a shoulder-surfer may know, or a client-made id.
        value = victim_conversation if planted == "conversation" else "0" * 32
        attacker_context.add_init_script(
            f"if (!sessionStorage.getItem('planted')) {{ sessionStorage.setItem('planted', '1');"
            f" sessionStorage.setItem('travelchat.session_id', {json.dumps(value)}); }}"
        )
        attacker = attacker_context.new_page()
        attacker.goto(f"{api_url}/?rasa={rasa_url}&open=1")
        online(attacker)
        state = chat_state(attacker)
        assert TOKEN.match(state["token"])
        assert state["conversation"] not in (victim_conversation, value)
    finally:
        victim_context.close()
        attacker_context.close()


def test_rasa_parameter_is_ignored_unless_page_and_server_are_on_this_machine(browser, api_url, rasa_url):
    context = browser.new_context(locale="zh-CN")
    sockets: list[str] = []
    try:
        # A page on this machine, a link naming a server elsewhere: ignored.
        page = context.new_page()
        page.goto(f"{api_url}/?rasa=http://chat-thief.example:5005&open=1")
        # The widget publishes travelChat once it has chosen its server, which may take a fetch
        # (the same-origin probe) after the page's load event.
        page.wait_for_function("window.travelChat !== undefined")
        assert page.evaluate("window.travelChat.rasaUrl") == "http://127.0.0.1:5005"

        # The site as travellers see it (not on this machine): ?rasa= is ignored even for loopback.
        def serve_site(route):
            path = urlsplit(route.request.url).path
            route.fulfill(response=context.request.fetch(f"{api_url}{path}"))

        context.route("http://travel.example/**", serve_site)
        site = context.new_page()
        site.on("websocket", lambda ws: sockets.append(ws.url))
        site.goto(f"http://travel.example/?rasa={rasa_url}&open=1")
        site.wait_for_function("window.travelChat !== undefined")
        assert site.evaluate("window.travelChat.rasaUrl") == "http://travel.example:5005"
        site.wait_for_timeout(500)
        assert not any(urlsplit(rasa_url).netloc in url for url in sockets), sockets
    finally:
        context.close()


def test_the_widget_has_no_client_made_ids(api_url):
    source = http.get(f"{api_url}/static/widget.js").text
    assert "Math.random" not in source and "randomUUID" not in source
    assert (
        "localStorage.setItem(KEY_SESSION" not in source and "localStorage.setItem(KEY_HISTORY" not in source
    )
