"""The widget's phone links, without a browser: widget.js's own number reading run in Node.

The numbers added for France, Vietnam, the Maldives, Egypt and Turkey (17, 15, 18, 113, 115,
114, 119, 102, 118, 122, 126, 123, 180…) showed as plain text: the widget linked only short
numbers of a list kept by hand beside data/emergency/numbers.yml. Now the emergency reply's own
local numbers are links because the reply dials them ("拨打 17（或欧盟通用 112）报警"), whatever
numbers.yml holds. The browser tests (tests/browser/test_widget_phone_numbers.py) need Chromium;
this runs the same cases through the same functions of widget.js in Node (skipped without it),
with a stand-in for the few DOM calls they make.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from actions.emergency import ADVICE, advice_text, country_numbers
from tests.browser.test_widget_phone_numbers import (
    CASES,
    CONSULAR,
    EMERGENCY,
    EMERGENCY_LINKS,
    KINDS,
    SHORT_LINKS,
    SHORT_TEXT,
)
from tests.services import ROOT

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(not NODE, reason="Node.js is not installed")
WIDGET = ROOT / "api" / "app" / "static" / "widget.js"

# The widget's number reading (from PHONE_RUN to appendWithPhones), with a document that builds
# plain objects: each message -> [[link text, href], ...] and the text as shown.
HARNESS = r"""
const fs = require("fs");
const source = fs.readFileSync(process.argv[1], "utf8");
const start = source.indexOf("  const PHONE_RUN");
const end = source.indexOf("  function render(");
const document = {
  createTextNode: (text) => ({ text }),
  createElement: () => ({
    text: "",
    set textContent(t) { this.text = t; },
    get textContent() { return this.text; },
  }),
};
const body = source.slice(start, end) + "\nreturn appendWithPhones;";
const appendWithPhones = new Function("document", body)(document);
const messages = JSON.parse(fs.readFileSync(0, "utf8"));
const out = messages.map((text) => {
  const nodes = [];
  appendWithPhones({ appendChild: (node) => nodes.push(node) }, text);
  return {
    links: nodes.filter((n) => n.href !== undefined).map((n) => [n.text, n.href]),
    shown: nodes.map((n) => n.text).join(""),
  };
});
process.stdout.write(JSON.stringify(out));
"""


def shown(messages):
    run = subprocess.run(
        [NODE, "-e", HARNESS, str(WIDGET)],
        input=json.dumps(messages),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result = json.loads(run.stdout)
    assert [r["shown"] for r in result] == list(messages)  # every character still there
    return [r["links"] for r in result]


def test_the_browser_tests_cases_read_the_same():
    # The cases of tests/browser/test_widget_phone_numbers.py, which needs Chromium.
    texts = [EMERGENCY] + [t for t, _ in CASES] + [t for t, _ in SHORT_LINKS] + SHORT_TEXT
    got = iter(shown(texts))
    assert [tuple(x) for x in next(got)] == EMERGENCY_LINKS
    for text, expected in CASES:
        assert [t for t, _ in next(got)] == expected, text
    for text, expected in SHORT_LINKS:
        assert next(got) == expected, text
    for text in SHORT_TEXT:
        assert next(got) == [], text


def _places():
    raw = country_numbers()
    return [(False, None, raw["home"])] + [(True, name, entry) for name, entry in raw["countries"].items()]


def test_every_number_the_emergency_reply_sends_is_a_link():
    # The bot's own advice for every place in numbers.yml and every kind: each number a link
    # (France's 17/15/18, Vietnam's 113/115/114, Egypt's 126, the UAE's 998…), nothing else.
    guide = {"name": "王芳", "phone": "13800138000"}
    places = _places()
    texts = [
        advice_text(list(ADVICE), abroad, "400-820-1190", guide, country) for abroad, country, _ in places
    ]
    # One kind at a time too: each number after its own 拨打.
    singles = [
        (advice_text([kind], abroad, "400-820-1190", None, country), entry[key])
        for abroad, country, entry in places
        for kind, key in (
            ("missing", "police"),
            ("medical", "ambulance"),
            ("fire", "fire"),
            ("water", "rescue"),
        )
    ]
    got = shown(texts + [text for text, _ in singles])
    for (abroad, country, entry), links in zip(places, got):
        sent = {number for key in KINDS for number in re.findall(r"\d+", entry[key])}
        sent |= {"400-820-1190", "13800138000"} | (CONSULAR if abroad else set())
        assert {t for t, _ in links} == sent, country
        assert all(href == "tel:" + re.sub(r"[^\d+]", "", t) for t, href in links), links
    for (text, numbers), links in zip(singles, got[len(texts) :]):
        assert set(re.findall(r"\d+", numbers)) <= {t for t, _ in links}, text


def test_a_dialled_short_number_is_a_link_only_in_the_emergency_reply():
    advice = advice_text(["missing"], True, "400-820-1190", None, "france")
    assert "拨打 17（或欧盟通用 112）报警" in advice
    texts = [
        "请拨打 17 咨询",  # not the emergency reply
        "下午 17 点在酒店大堂集合，18 号出发",
        "12月15日 18:00 前回复",
        advice + "\n集合时间 17 点",  # in the reply, but not dialled where it stands
        "请立即拨打 24 小时紧急救援电话 400-820-1190",  # the queue message: 24 counts hours
    ]
    got = shown(texts)
    assert got[0] == [] and got[1] == [] and got[2] == []
    assert [t for t, _ in got[3]][:2] == ["17", "112"] and got[3].count(["17", "tel:17"]) == 1  # not "17 点"
    assert got[4] == [["400-820-1190", "tel:4008201190"]]
