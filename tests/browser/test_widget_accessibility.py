"""The widget on a phone and by keyboard, checked with axe-core (issue 15, item 5), in a real
browser against the real services.

axe-core (tests/fakes/axe-core/, MPL-2.0) is injected into the widget page on a desktop and a
375×812 phone viewport, with the widget closed, open with a choice offered, and asking before a
new conversation: no serious or critical violation. On the phone the widget fills the screen
and its input has a 16 px font (iOS zooms into smaller ones). By keyboard alone a traveller
opens the widget, writes, picks an offered choice (focus comes back to the input, the choice
is shown by its title, also after a reload), and Esc closes it with focus back on the launcher.
"""

from __future__ import annotations

import pytest

from tests.browser.test_handoff_browser import bubbles, send, wait_for_bubble
from tests.services import ROOT

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TIMEOUT = 30_000  # ms
AXE = ROOT / "tests" / "fakes" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}


def online(page) -> None:
    page.locator("#chat-status[data-state=online]").wait_for(timeout=TIMEOUT)


def serious_violations(page) -> list[dict]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    results = page.evaluate("""async () => {
        const r = await axe.run(document, { resultTypes: ["violations"] });
        return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                                          nodes: v.nodes.map((n) => n.target.join(" ")) }));
    }""")
    return [v for v in results if v["impact"] in ("serious", "critical")]


def focused(page) -> str:
    return page.evaluate("document.activeElement.id || document.activeElement.textContent")


def offer_a_choice(page) -> None:
    """The complaint form's consent question comes with buttons (同意 / 不同意)."""
    send(page, "昨天晚上在丽江的酒店房间里发现蟑螂，床单也是脏的，我要求退款")
    wait_for_bubble(page, "bot", "订单号")
    send(page, "TR20260001")
    page.locator("#chat-log .buttons button", has_text="不同意").last.wait_for(timeout=TIMEOUT)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_no_serious_accessibility_violations_and_full_screen_on_a_phone(
    browser, console_api, rasa_url, screenshots, viewport
):
    name = "desktop" if viewport is DESKTOP else "phone"
    context = browser.new_context(
        viewport=viewport, locale="zh-CN", is_mobile=viewport is PHONE, has_touch=viewport is PHONE
    )
    try:
        page = context.new_page()
        page.goto(f"{console_api}/?rasa={rasa_url}")
        page.locator("#chat-launcher").wait_for()
        assert serious_violations(page) == [], "widget closed"
        page.click("#chat-launcher")
        online(page)
        offer_a_choice(page)
        assert serious_violations(page) == [], "widget open with a choice"
        page.screenshot(path=str(screenshots / f"widget-{name}.png"))
        if viewport is PHONE:
            box = page.locator("#chat-widget").bounding_box()
            assert box == {"x": 0, "y": 0, "width": PHONE["width"], "height": PHONE["height"]}, box
        else:
            box = page.locator("#chat-widget").bounding_box()
            assert box["width"] < 500 and box["x"] > 0  # a floating panel on a desktop
        assert page.eval_on_selector("#chat-input", "e => getComputedStyle(e).fontSize") == "16px"
        page.click("#chat-restart")
        page.locator("#chat-confirm").wait_for()
        assert serious_violations(page) == [], "asking before a new conversation"
        page.screenshot(path=str(screenshots / f"widget-{name}-confirm.png"))
    finally:
        context.close()


def test_everything_by_keyboard_with_visible_focus(browser, console_api, rasa_url, screenshots):
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    try:
        page = context.new_page()
        page.goto(f"{console_api}/?rasa={rasa_url}")
        page.locator("#chat-launcher").wait_for()
        page.keyboard.press("Tab")
        assert focused(page) == "chat-launcher"
        page.keyboard.press("Enter")
        online(page)
        assert focused(page) == "chat-input"
        # A visible focus ring on the input (it used to have outline: none).
        ring = page.eval_on_selector(
            "#chat-input", "e => [getComputedStyle(e).outlineStyle, getComputedStyle(e).outlineWidth]"
        )
        assert ring[0] != "none" and ring[1] != "0px", ring
        page.keyboard.type("昨天晚上在丽江的酒店房间里发现蟑螂，床单也是脏的，我要求退款")
        page.keyboard.press("Enter")
        wait_for_bubble(page, "bot", "订单号")
        page.keyboard.type("TR20260001")
        page.keyboard.press("Enter")
        choices = page.locator("#chat-log .buttons button", has_text="不同意")
        choices.last.wait_for(timeout=TIMEOUT)
        # Pinned by position: a refusal re-asks consent with new buttons, and `.last` would then
        # point at those (enabled) instead of the one that was answered.
        choice = choices.nth(choices.count() - 1)
        # Shift+Tab from the input reaches the offered choices (the last one first).
        for _ in range(4):
            page.keyboard.press("Shift+Tab")
            if page.evaluate("document.activeElement.textContent") == "不同意":
                break
        assert page.evaluate("document.activeElement.textContent") == "不同意"
        ring = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert ring != "none"
        page.screenshot(path=str(screenshots / "widget-keyboard-focus.png"))
        page.keyboard.press("Enter")
        wait_for_bubble(page, "user", "不同意")
        assert focused(page) == "chat-input"  # focus back where the traveller types
        assert "/deny" not in " ".join(bubbles(page, "user"))
        assert choice.is_disabled()  # a choice is used up once answered
        wait_for_bubble(page, "bot", "理解您的顾虑")  # answered: the tracker has stored the turn

        # After a reload the choice is still shown by its title (from the server's history).
        page.reload()
        online(page)
        wait_for_bubble(page, "user", "不同意")
        assert not any(text.startswith("/") for text in bubbles(page, "user"))
        # The answered choice stays used up after a reload; a first refusal is asked again with its
        # own buttons (e40cc5c), which are the only ones still enabled.
        assert page.locator("#chat-log .buttons button", has_text="不同意").first.is_disabled()

        # Esc closes, focus returns to the launcher; Enter opens it again.
        page.locator("#chat-input").focus()
        page.keyboard.press("Escape")
        assert page.locator("#chat-widget").is_hidden()
        assert focused(page) == "chat-launcher"
        page.keyboard.press("Enter")
        assert focused(page) == "chat-input"
        # 新对话 by keyboard: Esc in the question only cancels it.
        page.locator("#chat-restart").focus()
        page.keyboard.press("Enter")
        assert focused(page) == "chat-confirm-no"
        page.keyboard.press("Escape")
        assert page.locator("#chat-confirm").is_hidden() and page.locator("#chat-widget").is_visible()
        assert focused(page) == "chat-restart"
    finally:
        context.close()
