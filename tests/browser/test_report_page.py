"""The supervisors' report page in Debian's Chromium against the real API on a fresh SQLite file
(no Rasa needed): tickets and a handoff made through the API, a supervisor logs in on the page
and sees those figures in the tables, the ECharts charts are drawn, the CSV downloads with its
byte-order mark, and axe-core finds no serious or critical violation on a desk and at 375 px.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests import staff
from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_console_accessibility import (
    DESKTOP,
    PHONE,
    assert_accessible,
    focus_is_visible,
    no_sideways_scroll,
)
from tests.services import api_service, base_env

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

http = httpx.Client(timeout=120)


@pytest.fixture(scope="module")
def report_api(tmp_path_factory):
    """A real API process on its own SQLite file, with three tickets and a handoff in it."""
    workdir = tmp_path_factory.mktemp("report-api")
    service = api_service(workdir, f"sqlite:///{workdir / 'tickets.db'}")
    service.env.update(RETENTION_SCHEDULE="false")
    service.start()
    base = service.health_url.rsplit("/", 1)[0]
    bot = {"Authorization": f"Bearer {base_env()['API_SERVICE_TOKEN']}"}
    tag = uuid.uuid4().hex[:8]

    def ticket(category, severity, phone, description):
        body = {
            "name": "王小明",
            "phone": phone,
            "channel": "socketio",
            "conversation_id": f"report-{tag}-{phone}-{severity}",
            "description": description,
            "category": category,
            "severity": severity,
        }
        response = http.post(f"{base}/tickets", json=body, headers=bot)
        assert response.status_code == 201, response.text
        return response.json()

    first = ticket("meals", "general", "13800000001", "晚餐菜品变质，多人腹泻。")
    ticket("meals", "major", "13800000001", "第二次投诉：餐饮问题仍未解决。")  # same phone: a repeat
    ticket("safety", "urgent", "13900000002", "游客在景区摔伤，需要帮助。")
    rated = http.patch(
        f"{base}/tickets/{first['ticket_no']}/feedback",
        json={"satisfaction": 4},
        headers={**bot, "X-Sender-Id": first["conversation_id"]},
    )
    assert rated.status_code == 200, rated.text
    opened = http.post(
        f"{base}/handoffs",
        headers=bot,
        json={
            "conversation_id": f"report-{tag}-fallback",
            "channel": "socketio",
            "reason": "fallback",
            "summary": {"last_message": "我叫王小明，那个东西怎么弄"},
        },
    )
    assert opened.status_code in (200, 201), opened.text
    staff.login(base, "supervisor", http)  # changes the initial password, as the console would ask
    yield base
    service.stop()


def open_report(browser, base: str, viewport: dict):
    context = browser.new_context(viewport=viewport, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    page.goto(f"{base}/static/report.html")
    page.get_by_label("账号").fill("supervisor")
    page.get_by_label("密码", exact=True).fill(staff.password("supervisor"))
    page.keyboard.press("Enter")  # the form submits from the keyboard
    page.wait_for_function(
        "document.querySelector('#report-status').textContent.startsWith('已生成')", timeout=30_000
    )
    return context, page


def cells(page, table_id: str) -> list[list[str]]:
    return page.eval_on_selector_all(
        f"#{table_id} tbody tr", "rows => rows.map(r => [...r.children].map(c => c.textContent))"
    )


def test_supervisor_sees_the_figures_charts_and_csv(browser, report_api, tmp_path):
    context, page = open_report(browser, report_api, DESKTOP)
    try:
        kpis = page.locator("#kpis").inner_text()
        assert "投诉总数\n3" in kpis
        assert "满意度（百分制）\n80.0" in kpis
        assert "重复投诉\n1" in kpis
        assert ["餐饮", "2", "66.7%"] in cells(page, "table-category")
        assert ["安全", "1", "33.3%"] in cells(page, "table-category")
        severities = {row[0]: row[1] for row in cells(page, "table-severity")}
        assert severities == {"一般": "1", "重大": "1", "紧急": "1"}
        trend = cells(page, "table-trend")
        assert sum(int(row[1]) for row in trend) == 3  # this week's row holds all three
        phrases = cells(page, "table-phrases")
        assert phrases == [["1", "我叫王**，那个东西怎么弄", "1"]]
        assert "王小明" not in page.content() and "13800000001" not in page.content()
        # Every chart is drawn: ECharts puts a canvas with a size inside each container.
        for chart in (
            "trend",
            "category",
            "severity",
            "stage",
            "department",
            "status",
            "deadlines",
            "quality",
            "reply",
        ):
            size = page.eval_on_selector(f"#chart-{chart} canvas", "c => [c.width, c.height]")
            assert size[0] > 100 and size[1] > 100, (chart, size)
        assert_accessible(page, "report desktop")
        page.screenshot(path=str(SCREENSHOTS / "report-desktop.png"), full_page=True)

        with page.expect_download() as download_info:
            page.get_by_role("button", name="下载 CSV").click()
        download = download_info.value
        assert download.suggested_filename.startswith("report-") and download.suggested_filename.endswith(
            "-week.csv"
        )
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
        raw = saved.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        text = raw.decode("utf-8-sig")
        assert "投诉量,volume,全部,类别,meals,餐饮,2" in text
        assert "满意度,satisfaction,全部,,score,满意度（百分制）,80.0" in text

        # By month, from the picker: the same three tickets in one month.
        page.select_option("#period-granularity", "month")
        page.get_by_role("button", name="生成报表").click()
        page.wait_for_function(
            "document.querySelector('#table-trend tbody tr th').textContent.includes('月')"
        )
        assert sum(int(row[1]) for row in cells(page, "table-trend")) == 3
    finally:
        context.close()


def test_report_at_375_px_and_by_keyboard(browser, report_api, screenshots):
    context, page = open_report(browser, report_api, PHONE)
    try:
        assert no_sideways_scroll(page)
        size = page.eval_on_selector("#chart-trend canvas", "c => c.getBoundingClientRect().width")
        assert 200 < size <= 375
        assert_accessible(page, "report 375 px")
        # The period form by keyboard (a date input tabs through its own year/month/day parts):
        # from the granularity, Tab reaches both buttons with a visible focus, Enter downloads.
        page.locator("#period-granularity").focus()
        reached = []
        for _ in range(2):
            page.keyboard.press("Tab")
            reached.append(page.evaluate("document.activeElement.id || document.activeElement.textContent"))
            assert focus_is_visible(page.locator(":focus"))
        assert reached == ["生成报表", "download-csv"]
        with page.expect_download() as download_info:
            page.keyboard.press("Enter")
        assert download_info.value.suggested_filename.endswith(".csv")
        page.screenshot(path=str(screenshots / "report-375.png"), full_page=True)
    finally:
        context.close()


def test_an_agent_is_refused_on_the_page(browser, report_api):
    staff.login(report_api, "agent1", http)  # past the initial password
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(f"{report_api}/static/report.html")
        page.get_by_label("账号").fill("agent1")
        page.get_by_label("密码", exact=True).fill(staff.password("agent1"))
        page.keyboard.press("Enter")
        page.wait_for_function("document.querySelector('#login-error').textContent.includes('仅限主管')")
        assert page.locator("#report-view").is_hidden()
    finally:
        context.close()
