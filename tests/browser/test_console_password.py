"""The console's first login: the initial password must be changed before the desk opens.

On an API of its own with a fresh database (the session's accounts have changed their initial
passwords already), on a phone-sized screen: the form's labels, its errors (in Chinese, from
the page and from the API), keyboard focus, then the desk, a reload, logout and the next login.
"""

from __future__ import annotations

import time
from typing import Iterator

import httpx
import pytest

from tests import staff
from tests.services import api_service

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

NEW_PASSWORD = "柳絮-first-login-2026"


@pytest.fixture(scope="module")
def fresh_api(tmp_path_factory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("password-api")
    service = api_service(workdir, f"sqlite:///{workdir / 'tickets.db'}")
    service.env.update(WARM_CLASSIFIER="false")
    service.start()
    yield service.health_url.rsplit("/", 1)[0]
    service.stop()


def test_first_login_asks_for_a_new_password_then_opens_the_desk(browser, fresh_api, screenshots):
    initial = staff.initial_password("agent1")
    page = browser.new_page(viewport={"width": 375, "height": 740}, locale="zh-CN")
    try:
        page.goto(f"{fresh_api}/console")
        page.get_by_label("账号").fill("agent1")
        page.get_by_label("密码", exact=True).fill(initial)
        page.click("#login-form button[type=submit]")
        form = page.locator("#password-view")
        form.wait_for(timeout=10_000)
        assert page.locator("#desk").is_hidden() and page.locator("#login-view").is_hidden()
        assert "修改初始密码" in form.inner_text()
        # The token works for nothing else yet.
        token = page.evaluate("JSON.parse(sessionStorage.getItem('console.auth')).token")
        refused = httpx.get(f"{fresh_api}/handoffs", headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 403

        # Focus starts on the first field and is visible; the form fits a 375 px screen.
        current = page.get_by_label("当前密码")
        assert current.evaluate("node => node === document.activeElement")
        assert current.evaluate("node => getComputedStyle(node).outlineStyle") != "none"
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        submit = page.get_by_role("button", name="修改密码并进入工作台")
        box = submit.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 375
        page.screenshot(path=str(screenshots / "console-change-password-375.png"))

        error = page.locator("#password-error")
        new, again = page.get_by_label("新密码", exact=True), page.get_by_label("再次输入新密码")
        # Checked on the page: too short, not repeated alike.
        current.fill(initial)
        new.fill("short")
        again.fill("short")
        submit.click()
        error.filter(has_text="至少需要 12 个字符").wait_for(timeout=5_000)
        assert new.get_attribute("aria-invalid") == "true"
        new.fill(NEW_PASSWORD)
        again.fill(NEW_PASSWORD + "x")
        submit.click()
        error.filter(has_text="两次输入的新密码不一致").wait_for(timeout=5_000)
        assert again.evaluate("node => node === document.activeElement")
        # Checked by the API: the current password, and no initial password as the new one.
        current.fill("not-the-password")
        again.fill(NEW_PASSWORD)
        submit.click()
        error.filter(has_text="当前密码不正确").wait_for(timeout=10_000)
        current.fill(initial)
        new.fill(staff.initial_password("supervisor"))
        again.fill(staff.initial_password("supervisor"))
        submit.click()
        error.filter(has_text="不能是初始密码").wait_for(timeout=10_000)
        assert page.locator("#desk").is_hidden()

        new.fill(NEW_PASSWORD)
        again.fill(NEW_PASSWORD)
        submit.click()
        page.locator("#desk").wait_for(timeout=10_000)
        assert form.is_hidden()
        page.locator("#queue-count", has_text="等待").wait_for(timeout=10_000)
        assert current.input_value() == "" and new.input_value() == ""
        page.reload()
        page.locator("#desk").wait_for(timeout=10_000)
        assert form.is_hidden()

        # Logging out revokes the token; the initial password is gone, the new one opens the desk.
        page.get_by_role("button", name="退出登录").click()
        page.locator("#login-view").wait_for(timeout=5_000)
        deadline = time.monotonic() + 5
        while (
            httpx.get(f"{fresh_api}/handoffs", headers={"Authorization": f"Bearer {token}"}).status_code
            != 401
        ):
            assert time.monotonic() < deadline, "the token still works after logout"
            time.sleep(0.2)
        page.get_by_label("账号").fill("agent1")
        page.get_by_label("密码", exact=True).fill(initial)
        page.click("#login-form button[type=submit]")
        page.locator("#login-error", has_text="账号或密码错误").wait_for(timeout=10_000)
        page.get_by_label("密码", exact=True).fill(NEW_PASSWORD)
        page.click("#login-form button[type=submit]")
        page.locator("#desk").wait_for(timeout=10_000)
        assert form.is_hidden()
    finally:
        page.close()
