"""Notices to a WeChat traveller, against the real Rasa (WeChat channel), action server and API,
with the fake WeChat server speaking the real protocol (tests/fakes/wechat_api.py).

This module starts its own three services: an API whose Rasa is the WeChat-enabled one and
which knows the WeChat account (template messages), an action server on that API, and Rasa on
both. Within 48 hours of the traveller's last message a notice is a customer-service message
(the fake refuses those after 48 hours, errcode 45015, as WeChat does); a traveller whose last
message is two days old gets a template message. No clock is moved and nothing sleeps: the old
traveller's last message is written into the conversation with its timestamp of two days ago,
as Rasa's HTTP API allows, and told to the fake.
"""

from __future__ import annotations

import os
import time
from typing import Dict, Iterator

import httpx
import pytest

from tests import staff
from tests.conftest import RASA_TOKEN
from tests.e2e.test_wechat import AES_KEY, APP_ID, TOKEN, Traveller, model_path, option
from tests.fakes.wechat_api import FakeWeChatAPI
from tests.services import ROOT, action_service, api_service, free_port, rasa_auth_headers, rasa_service

pytestmark = pytest.mark.e2e

SERVICE = {"Authorization": "Bearer dev-service-token"}
TEMPLATE = "tmpl-progress"
RESULT = {
    "findings": "经核实，导游在购物店停留超时属实。",
    "measures": "已对导游进行处罚，并退还购物店停留造成的行程损失。",
    "apology": "感谢您的监督，给您带来不便，我们深表歉意。",
}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeWeChatAPI]:
    server = FakeWeChatAPI(app_id=APP_ID, app_secret="e2e-secret", template_ids=[TEMPLATE]).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest, fake: FakeWeChatAPI, tmp_path_factory) -> Iterator[Dict[str, str]]:
    workdir = tmp_path_factory.mktemp("notices-wechat")
    rasa_port = free_port()
    wechat = dict(
        WECHAT_APP_ID=APP_ID,
        WECHAT_APP_SECRET=fake.app_secret,
        WECHAT_TOKEN=TOKEN,
        WECHAT_AES_KEY=AES_KEY,
        WECHAT_API_BASE=fake.url,
    )
    started = []
    try:
        api = api_service(workdir / "api", f"sqlite:///{workdir / 'tickets.db'}")
        api.env.update(
            wechat,
            RASA_URL=f"http://127.0.0.1:{rasa_port}",
            RASA_JWT_SECRET=RASA_TOKEN,
            WECHAT_TEMPLATE_ID=TEMPLATE,
            # The channel's token cache (Rasa runs in workdir): one token for both services.
            WECHAT_TOKEN_CACHE=str(workdir / "var" / "wechat-token.json"),
        )
        started.append(api.start())
        api_url = api.health_url.rsplit("/", 1)[0]
        actions = action_service(workdir / "actions", api_url)
        started.append(actions.start())
        rasa = rasa_service(
            workdir,
            model_path(request),
            actions.health_url.replace("/health", "/webhook"),
            RASA_TOKEN,
            rasa_port,
        )
        rasa.env.update(wechat)
        rasa.cwd = workdir
        rasa.env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), rasa.env.get("PYTHONPATH")]))
        started.append(rasa.start(timeout=900))
        yield {"api": api_url, "rasa": rasa.health_url.split("/status")[0]}
    finally:
        for service in reversed(started):
            service.stop()


def open_ticket(api: str, openid: str) -> str:
    created = httpx.post(
        f"{api}/tickets",
        json={
            "booking_ref": "TR20260001",
            "name": "张伟",
            "phone": "13812345678",
            "channel": "wechat",
            "conversation_id": openid,
            "description": "导游带我们去购物店停留了三个小时，行程里的景点没去成。",
        },
        headers=SERVICE,
        timeout=30,
    )
    assert created.status_code == 201, created.text
    return created.json()["ticket_no"]


def move(api: str, headers: Dict[str, str], no: str, status: str) -> None:
    moved = httpx.post(
        f"{api}/tickets/{no}/transitions",
        json={"status": status, **({"plan": "核实后与酒店协商处理"} if status == "plan_made" else {})},
        headers=headers,
        timeout=30,
    )
    assert moved.status_code == 200, moved.text


def notices(api: str, headers: Dict[str, str], no: str, timeout: float = 30) -> list:
    """The ticket's notices once none is being sent any more (the outcome is recorded after
    WeChat or Rasa answered, so just after the message arrived it may still be `sending`)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = httpx.get(f"{api}/tickets/{no}/notices", headers=headers, timeout=30).json()
        if all(n["status"] not in ("pending", "sending") for n in rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def test_customer_service_message_within_48_hours_and_the_survey_by_numbers(stack, fake: FakeWeChatAPI):
    api, boss = stack["api"], staff.login(stack["api"], "supervisor")
    traveller = Traveller(stack["rasa"], fake)
    fake.record_inbound(traveller.openid)
    assert "您好" in traveller.say("你好")
    no = open_ticket(api, traveller.openid)

    before = len(fake.texts_to(traveller.openid))
    move(api, boss, no, "investigating")
    texts = fake.wait_for(traveller.openid, before + 1)
    assert no in texts[-1] and "调查核实中" in texts[-1] and "负责人" in texts[-1]
    for status in ("plan_made", "resolved"):
        move(api, boss, no, status)
    noted = httpx.post(
        f"{api}/tickets/{no}/survey",
        json={"rating": 4},
        headers={**SERVICE, "X-Sender-Id": traveller.openid},
        timeout=30,
    )
    assert noted.status_code == 200, noted.text
    move(api, boss, no, "followed_up")
    assert httpx.put(f"{api}/tickets/{no}/result", json=RESULT, headers=boss, timeout=30).status_code == 200
    move(api, boss, no, "closed")
    texts = fake.wait_for(traveller.openid, before + 5)
    result = texts[-1]
    assert "投诉处理结果" in result and RESULT["findings"] in result
    traveller.pushed_seen = len(fake.texts_to(traveller.openid))

    # The result's buttons are numbered options: the traveller answers by number.
    reply = traveller.say(option(result, "确认处理结果"))
    assert "感谢您确认处理结果" in reply
    assert option(reply, "5星 非常满意") == "5"  # option n is n stars
    reply = traveller.say("5")
    assert "5星（100分/100分）" in reply

    ticket = httpx.get(f"{api}/tickets/{no}", headers=boss, timeout=30).json()
    assert (ticket["confirmed"], ticket["satisfaction"]) == (True, 5)
    routes = {n["route"] for n in notices(api, boss, no)}
    assert routes == {"rasa:wechat"} and fake.templates_to(traveller.openid) == []


def test_after_48_hours_a_template_message(stack, fake: FakeWeChatAPI):
    api, boss = stack["api"], staff.login(stack["api"], "supervisor")
    openid = "o" + os.urandom(13).hex()
    two_days_ago = time.time() - 49 * 3600
    # The traveller's last message, two days ago: in the conversation, and known to WeChat.
    appended = httpx.post(
        f"{stack['rasa']}/conversations/{openid}/tracker/events",
        json=[
            {
                "event": "user",
                "text": "导游带我们去购物店停留太久",
                "timestamp": two_days_ago,
                "input_channel": "wechat",
                "parse_data": {"intent": {"name": "complain", "confidence": 1.0}, "entities": []},
            }
        ],
        headers=rasa_auth_headers(RASA_TOKEN),
        timeout=30,
    )
    assert appended.status_code == 200, appended.text
    fake.record_inbound(openid, at=two_days_ago)
    no = open_ticket(api, openid)

    move(api, boss, no, "investigating")
    (template,) = fake.wait_for_template(openid, 1)
    assert template["template_id"] == TEMPLATE
    data = {name: field["value"] for name, field in template["data"].items()}
    assert data["keyword1"] == no and data["keyword2"] == "调查核实中"
    assert "负责人" in data["remark"] and "预计完成时间" in data["remark"]
    assert fake.texts_to(openid) == [] and not [m for m in fake.rejected if m.get("touser") == openid]
    (notice,) = notices(api, boss, no)
    assert (notice["status"], notice["route"], notice["attempts"]) == ("sent", "wechat_template", 1)

    # The conversation has it too, so the transcript is complete.
    tracker = httpx.get(
        f"{stack['rasa']}/conversations/{openid}/tracker", headers=rasa_auth_headers(RASA_TOKEN), timeout=30
    ).json()
    assert any(e.get("event") == "bot" and no in (e.get("text") or "") for e in tracker["events"])


def test_the_notice_key_keeps_a_second_move_from_repeating_a_notice(stack, fake: FakeWeChatAPI):
    # Nothing new is sent for a refused move (the same status again).
    api, boss = stack["api"], staff.login(stack["api"], "supervisor")
    traveller = Traveller(stack["rasa"], fake)
    fake.record_inbound(traveller.openid)
    traveller.say("你好")
    no = open_ticket(api, traveller.openid)
    before = len(fake.texts_to(traveller.openid))
    move(api, boss, no, "investigating")
    assert len(fake.wait_for(traveller.openid, before + 1)) == before + 1
    again = httpx.post(
        f"{api}/tickets/{no}/transitions", json={"status": "investigating"}, headers=boss, timeout=30
    )
    assert again.status_code == 409
    assert [n["event"] for n in notices(api, boss, no)] == ["status:investigating"]
    assert sum(no in text for text in fake.texts_to(traveller.openid)) == 1
