"""Faults of the scaled-out setup, with real processes (tests/faults/stack.py; docs/scale.md).

Two Rasa replicas on PostgreSQL (through a proxy the tests can cut) and a Redis of the tests'
own, two action servers and the API behind nginx. A process is killed with SIGKILL (kill -9):
no clean-up. Each test is one traveller's complaint (the REST channel, to a replica of the
test's choosing) and ends by counting that conversation's tickets in the API's database.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from typing import Dict, List, Optional

import httpx
import pytest

from tests.bot.test_web_channels import Widget  # the widget's socket.io client
from tests.faults.stack import TICKET_NO, Stack, texts

pytestmark = pytest.mark.skipif(not os.environ.get("RUN_FAULT_TESTS"), reason="make test-faults runs these")

BOOKING = "TR20260002"
DESCRIPTION = "酒店房间很脏，空调也坏了，前台一直不给换房"
COMPLAINT = [
    "我要投诉",
    BOOKING,
    DESCRIPTION,
    "12月3号晚上，在酒店",
    "换房或者退差价",
    "同意",
    "李娜",
    "13900001111",
    "确认",
]
# What the bot asks after each step (a word of it): the form continues where it was.
ASKS_AFTER = {0: "订单", 1: "描述", 2: "时间", 3: "处理"}
ACTION_FAILURE = "没有处理成功"  # bot/patches.py ACTION_FAILURE_REPLY / STORE_FAILURE_REPLY
STORE_FAILURE = "系统暂时繁忙"


def new_sender(name: str) -> str:
    return f"faults-{name}-{uuid.uuid4().hex[:8]}"


def finish(stack: Stack, sender: str, start: int, replica: int = 0) -> str:
    """The complaint's remaining steps; the last reply's text (the ticket number is in it)."""
    reply = ""
    for step in COMPLAINT[start:]:
        reply = texts(stack.say(replica, sender, step))
    return reply


def one_ticket(stack: Stack, sender: str) -> str:
    tickets = stack.tickets_of(sender)
    assert len(tickets) == 1, f"expected exactly one ticket for the conversation, found {tickets}"
    return tickets[0]


def test_a_conversation_alternating_between_replicas_keeps_its_form(healthy: Stack):
    sender = new_sender("alternate")
    replies: List[str] = []
    for index, step in enumerate(COMPLAINT):
        replies.append(texts(healthy.say(index % 2, sender, step)))
        if index in ASKS_AFTER:
            assert ASKS_AFTER[index] in replies[-1], (index, replies[-1])
    # nothing given was asked for again on the other replica
    assert not any("请提供您的订单号" in reply for reply in replies[1:]), replies
    ticket = one_ticket(healthy, sender)
    assert ticket in replies[-1]


SMALL_TALK = ["退款怎么算", "行李额是多少", "你好", "航班延误了怎么办", "签证要多久", "谢谢"]


def checkpoints_of(sender: str) -> int:
    """Checkpoint rows the windowed tracker store wrote for this conversation (bot/tracker_store.py)."""
    import psycopg2

    from bot.tracker_store import CHECKPOINT
    from tests.faults.stack import PG_PORT, TRACKER_DB

    conn = psycopg2.connect(host="127.0.0.1", port=PG_PORT, user="postgres", dbname=TRACKER_DB)
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM events WHERE sender_id = %s AND intent_name = %s", (sender, CHECKPOINT)
            )
            return cursor.fetchone()[0]
    finally:
        conn.close()


def test_a_long_conversation_across_replicas_loads_a_window_and_keeps_its_form(healthy: Stack):
    """40 turns of questions on alternating replicas (several checkpoints: replicas load only a
    window of the session), then a complaint, still alternating: the form goes on as in a short
    conversation and opens one ticket."""
    sender = new_sender("long")
    for turn in range(40):
        assert texts(healthy.say(turn % 2, sender, SMALL_TALK[turn % len(SMALL_TALK)])), turn
    assert checkpoints_of(sender) >= 2
    replies: List[str] = []
    for index, step in enumerate(COMPLAINT):
        replies.append(texts(healthy.say(index % 2, sender, step)))
        if index in ASKS_AFTER:
            assert ASKS_AFTER[index] in replies[-1], (index, replies[-1])
    ticket = one_ticket(healthy, sender)
    assert ticket in replies[-1]


def test_a_replica_killed_between_messages_leaves_the_form_to_the_other(healthy: Stack):
    sender = new_sender("kill-between")
    for index, step in enumerate(COMPLAINT[:3]):
        assert ASKS_AFTER[index] in texts(healthy.say(0, sender, step))
    healthy.kill("rasa1")
    reply = texts(healthy.say(1, sender, COMPLAINT[3]))
    assert ASKS_AFTER[3] in reply  # the other replica knew the form's state
    last = finish(healthy, sender, 4, replica=1)
    assert one_ticket(healthy, sender) in last


def test_a_replica_killed_while_answering_loses_nothing(healthy: Stack):
    """Killed in the middle of a turn, holding the conversation's lock: the action servers are
    paused (SIGSTOP) so that the replica is stuck inside the turn when it is killed. The
    traveller's client sends again what got no answer (the widget keeps an outbox, WeChat
    retries): the other replica takes it once the dead replica's lock has expired."""
    sender = new_sender("kill-during")
    for index, step in enumerate(COMPLAINT[:2]):
        assert ASKS_AFTER[index] in texts(healthy.say(0, sender, step))
    outcome: Dict[str, object] = {}

    def send() -> None:
        try:
            outcome["reply"] = healthy.say(0, sender, DESCRIPTION)
        except httpx.HTTPError as error:
            outcome["error"] = error

    healthy.pause("actions1", "actions2")
    try:
        sending = threading.Thread(target=send)
        sending.start()
        time.sleep(2.0)  # replica 1 has the lock and waits for the action server
        healthy.kill("rasa1")
        sending.join(30)
    finally:
        healthy.resume("actions1", "actions2")
    assert "error" in outcome, "the killed replica answered"
    started = time.monotonic()
    reply = texts(healthy.say(1, sender, DESCRIPTION))  # sent again, to the replica alive
    waited = time.monotonic() - started
    print(
        f"resend after kill -9 in a turn answered in {waited:.1f} s "
        f"(lock lifetime {healthy.env['TICKET_LOCK_LIFETIME']} s)"
    )
    assert ASKS_AFTER[2] in reply, reply
    assert waited < float(healthy.env["TICKET_LOCK_LIFETIME"]) + 15
    last = finish(healthy, sender, 3, replica=1)
    ticket = one_ticket(healthy, sender)
    assert ticket in last
    assert "空调" in stack_description(healthy, ticket)


def stack_description(stack: Stack, ticket: str) -> str:
    import psycopg2

    from tests.faults.stack import API_DB, PG_PORT

    conn = psycopg2.connect(host="127.0.0.1", port=PG_PORT, user="postgres", dbname=API_DB)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT description FROM tickets WHERE ticket_no = %s", (ticket,))
            return cursor.fetchone()[0]
    finally:
        conn.close()


def test_action_servers_killed_get_a_polite_reply_and_the_message_works_after_restart(healthy: Stack):
    sender = new_sender("actions")
    for index, step in enumerate(COMPLAINT[:2]):
        assert ASKS_AFTER[index] in texts(healthy.say(0, sender, step))
    healthy.kill("actions1")  # one of two: nginx sends the calls to the other
    reply = texts(healthy.say(1, sender, DESCRIPTION))
    assert ASKS_AFTER[2] in reply and ACTION_FAILURE not in reply
    healthy.kill("actions2")  # none left
    reply = texts(healthy.say(0, sender, COMPLAINT[3]))
    assert ACTION_FAILURE in reply, reply
    healthy.restart("actions1", "actions2")
    reply = texts(healthy.say(1, sender, COMPLAINT[3]))  # the same message again
    assert ASKS_AFTER[3] in reply, reply
    last = finish(healthy, sender, 4)
    assert one_ticket(healthy, sender) in last


def test_api_down_at_submission_keeps_the_details_and_confirming_later_opens_one_ticket(healthy: Stack):
    sender = new_sender("api")
    for step in COMPLAINT[:-1]:
        healthy.say(0, sender, step)
    healthy.kill("api")
    reply = texts(healthy.say(1, sender, "确认"))
    assert not TICKET_NO.search(reply), reply
    assert healthy.tickets_of(sender) == []
    healthy.restart("api")
    reply = texts(healthy.say(0, sender, "确认"))
    ticket = one_ticket(healthy, sender)
    assert ticket in reply, reply


def test_an_agents_reply_reaches_a_socket_held_by_the_other_replica(healthy: Stack):
    import asyncio

    async def scenario() -> None:
        widget = Widget(healthy.rasa_url(0))  # the traveller's socket is on replica 1
        try:
            token = await widget.connect()
            conversation = token.split(".", 1)[0]
            await asyncio.wait_for(widget.history.get(), 10)
            for text, via in (("人工客服小王：您好，我来处理。", healthy.rasa_url(1)),):
                await relay(healthy, via, conversation, text)
                reply = await widget.next_reply(timeout=10)
                assert reply.get("text") == text
            # through the private load balancer the API uses, whichever replica it picks
            for attempt in range(4):
                text = f"人工客服小王：第{attempt + 1}条消息"
                await relay(healthy, healthy.rasa_lb, conversation, text)
                assert (await widget.next_reply(timeout=10)).get("text") == text
        finally:
            await widget.close()

    asyncio.run(scenario())


async def relay(stack: Stack, rasa: str, conversation: str, text: str) -> None:
    """What the ticketing API does with an agent's reply (api/app/services/rasa_client.py)."""
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(
            f"{rasa}/conversations/{conversation}/tracker/events",
            params={"output_channel": "socketio", "execute_side_effects": "true"},
            json={"event": "bot", "text": text, "metadata": {"handoff_agent": "小王"}},
            headers=stack.auth,
        )
        assert response.status_code == 200, response.text


def test_redis_down_is_a_clear_error_and_the_conversation_recovers(healthy: Stack):
    sender = new_sender("redis")
    for index, step in enumerate(COMPLAINT[:2]):
        assert ASKS_AFTER[index] in texts(healthy.say(0, sender, step))
    healthy.redis.kill()
    started = time.monotonic()
    reply = texts(healthy.say(1, sender, DESCRIPTION))
    assert STORE_FAILURE in reply, reply
    assert time.monotonic() - started < 10  # refused, not hung
    assert "lock store (Redis) unreachable" in healthy.log_of("rasa2")
    healthy.redis.start()
    reply = texts(healthy.say(1, sender, DESCRIPTION))  # the same message again
    assert ASKS_AFTER[2] in reply, reply
    # socket.io's Redis listener reconnects (with back-off): cross-replica delivery resumes
    delivered = wait_for_cross_replica_delivery(healthy, within=70)
    assert delivered is not None, "an emit from the other replica never arrived after Redis came back"


def wait_for_cross_replica_delivery(stack: Stack, within: float) -> Optional[float]:
    import asyncio

    async def probe() -> Optional[float]:
        widget = Widget(stack.rasa_url(0))
        started = time.monotonic()
        try:
            token = await widget.connect()
            conversation = token.split(".", 1)[0]
            while time.monotonic() - started < within:
                await relay(stack, stack.rasa_url(1), conversation, "探测")
                try:
                    await widget.next_reply(timeout=3)
                    return time.monotonic() - started
                except asyncio.TimeoutError:
                    continue
            return None
        finally:
            await widget.close()

    return asyncio.run(probe())


def test_postgresql_down_is_a_clear_error_and_the_conversation_recovers(healthy: Stack):
    sender = new_sender("postgres")
    for index, step in enumerate(COMPLAINT[:2]):
        assert ASKS_AFTER[index] in texts(healthy.say(0, sender, step))
    healthy.pg.cut()
    try:
        started = time.monotonic()
        reply = texts(healthy.say(1, sender, DESCRIPTION))
        assert STORE_FAILURE in reply, reply
        assert time.monotonic() - started < 15  # refused, not hung
        assert "tracker store unreachable" in healthy.log_of("rasa2")
        assert httpx.get(f"{healthy.front}/healthz", timeout=15).status_code != 200
    finally:
        healthy.pg.mend()
    # the conversation where it was (not a new one): the same message continues the form
    reply = texts(healthy.say(1, sender, DESCRIPTION))
    assert ASKS_AFTER[2] in reply, reply
    assert httpx.get(f"{healthy.front}/healthz", timeout=15).status_code == 200
    last = finish(healthy, sender, 3, replica=0)
    assert one_ticket(healthy, sender) in last
