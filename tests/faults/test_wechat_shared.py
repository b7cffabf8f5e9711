"""WeChat's memory shared by two replicas through a real Redis (bot/channels/wechat_shared.py).

Two channel objects stand for two Rasa replicas. The machine's Redis (127.0.0.1:6379, database
3, a key prefix of this test's own, deleted afterwards); no Rasa server is needed.
"""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest

from bot.channels.wechat_shared import SharedButtonMemory, SharedDedup, SharedReplayGuard, connect

pytestmark = pytest.mark.skipif(not os.environ.get("RUN_FAULT_TESTS"), reason="make test-faults runs these")
REDIS = os.environ.get("FAULTS_SHARED_REDIS", "redis://127.0.0.1:6379/3")


@pytest.fixture
async def redis():
    client = connect(REDIS)
    prefix = f"faults{uuid.uuid4().hex[:10]}"
    yield client, prefix
    keys = [key async for key in client.scan_iter(f"{prefix}:*")]
    if keys:
        await client.delete(*keys)
    await client.close()


async def test_a_retry_on_the_other_replica_waits_for_the_first_delivery(redis):
    client, prefix = redis
    first, second = SharedDedup(client, prefix), SharedDedup(client, prefix)
    assert await first.claim("msg:1")
    assert not await second.claim("msg:1")  # the retry reached the other replica
    waiting = asyncio.ensure_future(second.outcome("msg:1", timeout=3))
    await asyncio.sleep(0.3)
    assert not waiting.done()  # still being answered on the first replica
    await first.settle("msg:1", "您的投诉已登记")
    assert await waiting == {"text": "您的投诉已登记"}
    assert await second.seen("msg:1")


async def test_a_retry_gives_up_within_the_budget(redis):
    client, prefix = redis
    first, second = SharedDedup(client, prefix), SharedDedup(client, prefix)
    await first.claim("msg:2")
    started = asyncio.get_running_loop().time()
    assert await second.outcome("msg:2", timeout=0.5) is None  # answered `success`; sent later
    assert asyncio.get_running_loop().time() - started < 1.5


async def test_buttons_shown_by_one_replica_are_chosen_on_the_other(redis):
    client, prefix = redis
    shown, read = SharedButtonMemory(client, prefix), SharedButtonMemory(client, prefix)
    await shown.remember(
        "openid-1", [{"title": "退款", "payload": "/refund"}, {"title": "赔偿", "payload": "/comp"}]
    )
    assert await read.resolve("openid-1", "2") == "/comp"
    assert await read.resolve("openid-1", "3") is None
    assert await read.resolve("openid-2", "1") is None
    await read.forget("openid-1")
    assert await shown.resolve("openid-1", "1") is None


async def test_a_nonce_bound_on_one_replica_stays_bound_on_the_other(redis):
    client, prefix = redis
    one, two = SharedReplayGuard(client, prefix), SharedReplayGuard(client, prefix)
    expires = one.clock() + 60
    await one.remember("nonce:1:abc", "msg:1", expires)
    await two.remember("nonce:1:abc", "msg:2", expires)  # NX: the first binding stays
    assert await two.get("nonce:1:abc") == "msg:1"


async def test_redis_down_degrades_to_this_replica_and_says_so(caplog):
    client = connect("redis://127.0.0.1:6099/0")  # nothing listens there
    dedup, buttons = SharedDedup(client, "down"), SharedButtonMemory(client, "down")
    assert await dedup.claim("msg:3")  # this replica decides; nothing refused
    assert await buttons.resolve("openid", "1") is None
    assert "unavailable" in caplog.text
    await client.close()
