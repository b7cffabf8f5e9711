"""Phone numbers in the widget's messages, on a phone (375×740), in Debian's Chromium.

A traveller in an emergency must read and tap the 24-hour line: 400-820-1190 used to break
across two lines at a hyphen. Each phone number in a bot's or agent's message is now one
<a href="tel:…"> (digits and "+" only) that never wraps; dates, times, booking and ticket
numbers and amounts stay plain text, and the text is still never parsed as HTML. Known
emergency numbers shorter than 5 digits (110, 120, 911, 1155…, every one the bot's emergency
reply sends) are links too, where one stands on its own ("120元", "第119天" stay text).

No trained model needed: the real page from the real API (api_url), with a stand-in for the
socket.io client (the request for /static/vendor/socket.io.min.js is answered with FAKE_IO),
so the test plays the server's side of the channel and the widget draws what it is sent, with
its own code (widget.js, widget.css).
"""

from __future__ import annotations

import json
import re

import pytest

from tests.services import ROOT

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PHONE = {"width": 375, "height": 740}
TIMEOUT = 15_000  # ms
AXE = ROOT / "tests" / "fakes" / "axe-core" / "axe.min.js"

# The server's side of Rasa's socket.io channel, as far as the widget needs it: a session, an
# empty or given history, then whatever the test sends (window.fakeChannel.serve).
FAKE_IO = """
window.fakeChannel = { handlers: {}, sent: [], history: window.fakeHistory || [] };
window.io = function () {
  const channel = window.fakeChannel;
  const serve = (event, data) => (channel.handlers[event] || []).forEach((fn) => fn(data));
  channel.serve = serve;
  const socket = {
    on(event, fn) { (channel.handlers[event] = channel.handlers[event] || []).push(fn); return socket; },
    emit(event, data) {
      channel.sent.push([event, data]);
      if (event === "session_request") {
        setTimeout(() => {
          serve("session_confirm", { session_id: "0123456789abcdef0123456789abcdef.1.sig" });
          serve("history", { messages: channel.history, state: { handoff: false } });
        }, 0);
      }
      return socket;
    },
    connect() { setTimeout(() => serve("connect"), 0); return socket; },
  };
  return socket;
};
"""

# The emergency advice as actions/emergency.py writes it abroad, with a guide's phone, and
# other numbers a message may hold next to them.
EMERGENCY = (
    "请先确保自身和身边人员的安全！\n"
    "如有人身危险，请立即拨打 191 报警或拨打 1669 叫救护车。\n"
    "您在境外：请联系中国驻当地使领馆；"
    "外交部全球领事保护与服务应急热线 0086-10-12308（或 12308），24 小时有人接听。\n"
    "本公司 24 小时紧急救援电话：400-820-1190\n"
    "曼谷地接社：+66 2 123 4567；您的导游王芳：13800138000\n"
    "您的订单 TR20260001 于 2026-12-07 08:00 出发，投诉单 C20261120001，已付 1,200元。"
)
EMERGENCY_LINKS = [
    ("191", "tel:191"),
    ("1669", "tel:1669"),
    ("0086-10-12308", "tel:00861012308"),
    ("12308", "tel:12308"),
    ("400-820-1190", "tel:4008201190"),
    ("+66 2 123 4567", "tel:+6621234567"),
    ("13800138000", "tel:13800138000"),
]
NUMBERS = [text for text, _ in EMERGENCY_LINKS]

# What a message says -> the phone numbers linked in it.
CASES = [
    ("请拨打12308咨询", ["12308"]),
    ("热线：+86-10-12308（或 +86-10-65612308），24 小时有人接听。", ["+86-10-12308", "+86-10-65612308"]),
    ("领事热线 12308 24 小时有人接听", ["12308"]),
    ("电话:400-820-1190 分机 2", ["400-820-1190"]),
    ("请拨打 12308 人工服务", ["12308"]),
    ("测试服务 localhost:12345", []),
    ("订单号 TR20260001，验证码 TR20260001 5678", []),
    ("旅客写的 TR 2026-0001 也不是电话", []),
    ("投诉单 C20261120001，4321", []),
    ("出发日期 2026-12-07 08:00，返程 2026-12-10", []),
    ("12/07 出发，07-12-2026 返回，2025-2026 年度", []),
    ("团费 12000元，押金 ¥20000，退款 1,200.50 元，共 10000 人次", []),
    ("航班 CA1234 于 08:00-10:30 起飞", []),
    ("详见 https://example.com/trips/123456", []),
    ("报警 110，急救 120", ["110", "120"]),
]

# Emergency and service numbers shorter than 5 digits (widget.js SHORT_NUMBERS) are links where
# one stands on its own: what a message says -> its links, [text, href].
SHORT_LINKS = [
    ("请立即拨打120急救电话", [["120", "tel:120"]]),
    ("报警请打110", [["110", "tel:110"]]),
    ("火警119", [["119", "tel:119"]]),
    ("泰国报警191，旅游警察1155", [["191", "tel:191"], ["1155", "tel:1155"]]),
    ("日本急救119", [["119", "tel:119"]]),
    ("欧洲通用112", [["112", "tel:112"]]),
    ("美国911", [["911", "tel:911"]]),
    ("泰国急救 1669，火警 199。", [["1669", "tel:1669"], ["199", "tel:199"]]),
    ("国内交通事故请拨打122；韩国旅游咨询热线 1330（中文服务）", [["122", "tel:122"], ["1330", "tel:1330"]]),
    (
        "新加坡报警 999、急救 995；澳大利亚 000；新西兰 111",
        [["999", "tel:999"], ["995", "tel:995"], ["000", "tel:000"], ["111", "tel:111"]],
    ),
    ("拨打 110 和 120，或 12308", [["110", "tel:110"], ["120", "tel:120"], ["12308", "tel:12308"]]),
    ("报警电话：110！急救电话:120。", [["110", "tel:110"], ["120", "tel:120"]]),
    ("请立即拨打 191（旅游警察 1155）报警", [["191", "tel:191"], ["1155", "tel:1155"]]),
    ("请拨打 110 120 或 12308 24 小时热线", [["110", "tel:110"], ["120", "tel:120"], ["12308", "tel:12308"]]),
]
# The same numbers counting, dating or naming something stay text; so do other short numbers.
SHORT_TEXT = [
    "团费 120元，押金 999块，手续费 110%，涨幅 120％",
    "等了110分钟，行李 110公斤，共 911人，已办 1155 次",
    "出发日期 2026-01-10，返程 2026-01-20，集合时间 11:20，21:10 返回，11：20 起飞",
    "今天是第119天，您是第 120 位游客，排名第 110",
    "中山路110号，乘坐 110路公交到 119房，120平米",
    "约 120 公里，110多人，120余人，999+",
    "血压 120/80，心率 110~120 或 110-120，房价 110-120元，1110、1120、0110、1100",
    "车次 K1155，航班 CA911，Room 110，订单 TR1330，No.112",
    "手机尾号 1155，工号：1330，验证码 1669，分机 119",
    "请拨打 1234 或 888 咨询",
]


def fake_page(browser, history: list | None = None):
    context = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True)
    context.route(
        "**/static/vendor/socket.io.min.js",
        lambda route: route.fulfill(status=200, content_type="application/javascript", body=FAKE_IO),
    )
    if history:
        context.add_init_script(f"window.fakeHistory = {json.dumps(history)};")
    page = context.new_page()
    return context, page


def open_widget(page, base: str) -> None:
    page.goto(f"{base}/?open=1")
    page.locator("#chat-status[data-state=online]").wait_for(timeout=TIMEOUT)


def bot_says(page, text: str, **extra) -> None:
    count = page.locator("#chat-log .msg").count()
    page.evaluate("([msg]) => window.fakeChannel.serve('bot_uttered', msg)", [{"text": text, **extra}])
    page.wait_for_function(f"document.querySelectorAll('#chat-log .msg').length > {count}", timeout=TIMEOUT)


def links(bubble) -> list[list[str]]:
    return bubble.evaluate(
        "b => [...b.querySelectorAll('a')].map((a) => [a.textContent, a.getAttribute('href')])"
    )


def layout(page, selector: str) -> list[dict]:
    """Each link's line boxes: one rect no taller than the bubble's line height when it does not wrap."""
    return page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)].map((a) => ({
            text: a.textContent,
            rects: a.getClientRects().length,
            height: a.getBoundingClientRect().height,
            line: parseFloat(getComputedStyle(a.closest(".bubble")).lineHeight),
        }))""",
        selector,
    )


def test_phone_numbers_are_tel_links_on_one_line(browser, api_url, screenshots):
    context, page = fake_page(browser)
    try:
        open_widget(page, api_url)
        bot_says(page, EMERGENCY)
        bubble = page.locator("#chat-log .msg.bot .bubble").last
        assert [tuple(x) for x in links(bubble)] == EMERGENCY_LINKS
        # Every word still there, in order; the date, booking, ticket and amount are plain text.
        assert bubble.inner_text() == EMERGENCY
        for plain in ("TR20260001", "2026-12-07", "08:00", "C20261120001", "1,200元"):
            assert bubble.locator("a", has_text=plain).count() == 0, plain
        for number in NUMBERS:
            link = bubble.get_by_role("link", name=number, exact=True)
            assert link.count() == 1, number
            box = link.bounding_box()
            line = float(link.evaluate("a => parseFloat(getComputedStyle(a.closest('.bubble')).lineHeight)"))
            assert box["height"] <= line, (number, box, line)  # one line, not two
            assert link.evaluate("a => a.getClientRects().length") == 1, number
        page.screenshot(path=str(screenshots / "widget-phone-numbers.png"))
    finally:
        context.close()


def test_no_number_wraps_wherever_it_falls_on_the_line(browser, api_url):
    # Each number after 0…20 characters: at some of these it reaches the bubble's right edge.
    pad = "请您保持手机畅通并节省电量我们会尽快为您安排后续行程和住宿"
    context, page = fake_page(browser)
    try:
        open_widget(page, api_url)
        for number in NUMBERS:
            for k in range(0, 21):
                page.evaluate(
                    "([msg]) => window.fakeChannel.serve('bot_uttered', msg)",
                    [{"text": f"{pad[:k]}{number}。"}],
                )
        page.wait_for_function(f"document.querySelectorAll('#chat-log a.tel').length === {21 * len(NUMBERS)}")
        shown = layout(page, "#chat-log a.tel")
        wrapped = [x for x in shown if x["rects"] != 1 or x["height"] > x["line"]]
        assert wrapped == [], wrapped
        # The check has teeth: without the widget's nowrap, some of these numbers do break.
        page.add_style_tag(content=".msg .bubble a.tel { white-space: normal !important; }")
        assert any(x["rects"] > 1 for x in layout(page, "#chat-log a.tel"))
    finally:
        context.close()


def test_what_is_and_is_not_a_phone_number(browser, api_url):
    context, page = fake_page(browser)
    try:
        open_widget(page, api_url)
        for text, expected in CASES:
            bot_says(page, text)
            bubble = page.locator("#chat-log .msg.bot .bubble").last
            assert [t for t, _ in links(bubble)] == expected, text
            assert bubble.inner_text() == text
    finally:
        context.close()


def test_emergency_numbers_are_links_where_they_stand_alone(browser, api_url):
    context, page = fake_page(browser)
    try:
        open_widget(page, api_url)
        for text, expected in SHORT_LINKS:
            bot_says(page, text)
            bubble = page.locator("#chat-log .msg.bot .bubble").last
            assert links(bubble) == expected, text
            assert bubble.inner_text() == text
        for text in SHORT_TEXT:
            bot_says(page, text)
            bubble = page.locator("#chat-log .msg.bot .bubble").last
            assert links(bubble) == [], text
            assert bubble.inner_text() == text
    finally:
        context.close()


KINDS = ("police", "ambulance", "fire", "rescue")  # the numbers' fields in data/emergency/numbers.yml
CONSULAR = {"+86-10-12308", "+86-10-65612308"}  # the consular hotline, in the advice abroad


def test_every_number_the_emergency_reply_sends_is_a_link(browser, api_url):
    # The bot's own emergency advice (actions/emergency.py) for every place in
    # data/emergency/numbers.yml, every kind of emergency: each number in it can be tapped.
    from actions.emergency import ADVICE, advice_text, country_numbers

    raw = country_numbers()
    guide = {"name": "王芳", "phone": "13800138000"}
    places = [(False, None, raw["home"])] + [(True, name, entry) for name, entry in raw["countries"].items()]
    context, page = fake_page(browser)
    try:
        open_widget(page, api_url)
        for abroad, country, entry in places:
            text = advice_text(list(ADVICE), abroad, "400-820-1190", guide, country)
            sent = {number for key in KINDS for number in re.findall(r"\d+", entry[key])}
            bot_says(page, text)
            bubble = page.locator("#chat-log .msg.bot .bubble").last
            shown = links(bubble)
            sent |= {"400-820-1190", "13800138000"} | (CONSULAR if abroad else set())
            assert {t for t, _ in shown} == sent, country  # each of them, and nothing else
            assert all(href == "tel:" + re.sub(r"[^\d+]", "", t) for t, href in shown), shown
            assert bubble.inner_text() == text
    finally:
        context.close()


def test_agents_numbers_too_and_markup_stays_text(browser, api_url):
    history = [
        {"from": "user", "text": "我的电话是 13900001111", "ts": 1796000000},
        {"from": "agent", "agent": "王芳", "text": "请拨打 400-820-1190，我们马上处理。", "ts": 1796000060},
    ]
    context, page = fake_page(browser, history)
    try:
        open_widget(page, api_url)
        agent = page.locator("#chat-log .msg.agent .bubble").last
        agent.wait_for(timeout=TIMEOUT)
        assert links(agent) == [["400-820-1190", "tel:4008201190"]]
        # The traveller's own words are shown as written.
        assert page.locator("#chat-log .msg.user .bubble a").count() == 0

        # Markup in a message is text; its buttons work as before.
        text = '<b>加粗</b><img src=x onerror="window.__xss=1">请拨打 12308 或选择：'
        bot_says(page, text, buttons=[{"title": "转人工", "payload": "/handoff"}])
        row = page.locator("#chat-log .msg.bot").last
        bubble = row.locator(".bubble")
        assert bubble.inner_text() == text
        assert bubble.locator("b, img").count() == 0 and page.evaluate("window.__xss") is None
        assert links(bubble) == [["12308", "tel:12308"]]
        assert row.locator(".buttons[role=group][aria-label=可选回复] button").all_inner_texts() == ["转人工"]
        row.get_by_role("button", name="转人工").click()
        sent = page.evaluate(
            "window.fakeChannel.sent.filter(([e]) => e === 'user_uttered').map(([, d]) => d)"
        )
        assert sent[-1]["message"] == "/handoff" and sent[-1]["metadata"] == {"shown_as": "转人工"}
        assert page.locator("#chat-log .msg.user .bubble").last.inner_text() == "转人工"

        # Reached by keyboard, with a visible focus ring, and no serious axe violation.
        assert page.evaluate("document.activeElement.id") == "chat-input"  # as after a click on a choice
        for _ in range(3):  # Shift+Tab from the input: the used-up choice is skipped, the link is next
            page.keyboard.press("Shift+Tab")
            if page.evaluate("document.activeElement.textContent") == "12308":
                break
        active = page.evaluate("[document.activeElement.tagName, document.activeElement.textContent]")
        assert active == ["A", "12308"]
        assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
        page.add_script_tag(path=str(AXE))
        violations = page.evaluate("""async () => {
            const r = await axe.run(document.getElementById("chat-widget"), { resultTypes: ["violations"] });
            return r.violations.filter((v) => ["serious", "critical"].includes(v.impact))
              .map((v) => ({ id: v.id, nodes: v.nodes.map((n) => n.target.join(" ")) }));
        }""")
        assert violations == [], violations
    finally:
        context.close()
