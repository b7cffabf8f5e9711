"""The console on a desk and on a phone: axe-core finds no serious or critical violation in
any view (login, password change, queue + conversation), the columns stack below 1,000 px
without sideways scrolling, the queue works with the keyboard and focus is always visible.

axe-core is vendored in tests/fakes/axe-core/ (see its README) and injected into the page.
"""

from __future__ import annotations

import json

import pytest

from tests.browser.test_console_agent import open_handoff
from tests.browser.test_handoff_browser import console_login
from tests.services import ROOT

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

AXE = ROOT / "tests" / "fakes" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1400, "height": 860}
PHONE = {"width": 375, "height": 812}


def serious_violations(page) -> list[dict]:
    """axe-core's WCAG 2.x A/AA and best-practice rules on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "rule": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def assert_accessible(page, view: str) -> None:
    found = serious_violations(page)
    assert not found, f"{view}: {json.dumps(found, ensure_ascii=False, indent=1)}"


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def focus_is_visible(locator) -> bool:
    return locator.evaluate(
        "node => node === document.activeElement && getComputedStyle(node).outlineStyle !== 'none'"
        " && parseFloat(getComputedStyle(node).outlineWidth) >= 2"
    )


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_every_console_view_passes_axe(browser, console_api, rasa_url, screenshots, viewport):
    name = "desktop" if viewport is DESKTOP else "375"
    handoff = open_handoff(console_api, rasa_url, severity="major")
    context = browser.new_context(viewport=viewport, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(f"{console_api}/console")
        page.locator("#login-form").wait_for()
        assert_accessible(page, f"login {name}")
        page.fill("#login-user", "agent1")
        page.fill("#login-pass", "wrong-password")
        page.click("#login-form button[type=submit]")
        page.locator("#login-error", has_text="账号或密码错误").wait_for(timeout=10_000)
        assert_accessible(page, f"login error {name}")

        # The password change view, as an account with its initial password sees it (the
        # session's accounts have changed theirs: the view is opened from the stored login).
        page.evaluate("""sessionStorage.setItem('console.auth', JSON.stringify(
            {token: 'x', username: 'agent1', name: '张敏', role: 'agent', mustChange: true}))""")
        page.reload()
        page.locator("#password-view").wait_for(timeout=5_000)
        page.click("#password-submit")
        page.locator("#password-error", has_text="请输入当前密码").wait_for(timeout=5_000)
        assert_accessible(page, f"password change {name}")
        assert no_sideways_scroll(page)
        page.evaluate("sessionStorage.clear()")

        # Queue and conversation, the reply box and the canned replies list open.
        console_login(page, console_api, "supervisor")
        item = page.locator(f'.queue-item[data-id="{handoff["id"]}"]')
        item.wait_for(timeout=10_000)
        assert_accessible(page, f"queue {name}")
        item.locator("button").click()
        page.locator("#take").click()
        page.locator("#conv-meta", has_text="服务中").wait_for(timeout=10_000)
        page.locator("#transcript .line.traveller").first.wait_for(timeout=10_000)
        page.locator("#reply-text").focus()
        page.locator("#reply-text").press("/")
        page.get_by_role("listbox", name="常用语").wait_for(timeout=5_000)
        assert_accessible(page, f"conversation {name}")
        assert no_sideways_scroll(page)
        page.screenshot(path=str(screenshots / f"console-conversation-{name}.png"), full_page=True)
        page.locator("#reply-text").press("Escape")
    finally:
        context.close()


def test_narrow_screens_stack_the_columns_and_the_queue_works_by_keyboard(
    browser, console_api, rasa_url, screenshots
):
    first = open_handoff(console_api, rasa_url)
    second = open_handoff(console_api, rasa_url)
    context = browser.new_context(viewport={"width": 999, "height": 800}, locale="zh-CN")
    page = context.new_page()
    try:
        console_login(page, console_api, "agent2")
        page.locator(f'.queue-item[data-id="{second["id"]}"]').wait_for(timeout=10_000)
        # One column below 1,000 px: queue above conversation above details, none wider than the page.
        boxes = [page.locator(sel).bounding_box() for sel in (".queue", ".conversation", ".details")]
        assert boxes[0]["y"] < boxes[1]["y"] < boxes[2]["y"]
        assert all(abs(b["x"] - boxes[0]["x"]) < 1 and b["x"] + b["width"] <= 999 for b in boxes)
        assert no_sideways_scroll(page)

        # Tab reaches the queue items; Enter opens one, Space another; focus is visible throughout.
        button = page.locator(f'.queue-item[data-id="{first["id"]}"] button')
        for _ in range(40):
            page.keyboard.press("Tab")
            if button.evaluate("node => node === document.activeElement"):
                break
        assert focus_is_visible(button)
        page.keyboard.press("Enter")
        page.locator("#conv-title", has_text=f"#{first['id']}").wait_for(timeout=10_000)
        assert button.get_attribute("aria-pressed") == "true"
        page.wait_for_timeout(2_300)  # a queue poll rebuilds the list: the focus stays on the item
        assert focus_is_visible(page.locator(f'.queue-item[data-id="{first["id"]}"] button'))
        other = page.locator(f'.queue-item[data-id="{second["id"]}"] button')
        other.focus()
        page.keyboard.press(" ")
        page.locator("#conv-title", has_text=f"#{second['id']}").wait_for(timeout=10_000)
        page.keyboard.press("Tab")  # on to the next item or the conversation: focus still shows
        focused = page.evaluate_handle("document.activeElement")
        assert focused.evaluate("node => getComputedStyle(node).outlineStyle") != "none"
        take = page.locator("#take")
        take.focus()
        assert focus_is_visible(take)
        page.screenshot(path=str(screenshots / "console-stacked-999.png"), full_page=True)

        # Phone width: still one column and no sideways scrolling, with a conversation open.
        page.set_viewport_size({"width": 375, "height": 812})
        page.wait_for_timeout(300)
        assert no_sideways_scroll(page)
        assert page.locator("#reply-text").bounding_box()["width"] > 150
    finally:
        context.close()
