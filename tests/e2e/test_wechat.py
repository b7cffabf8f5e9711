"""Whole conversations over the WeChat channel against the real services.

A Rasa server of its own (the session's API and action server behind it) loads
the repository's credentials.yml, with the WECHAT_* variables pointing the
channel at the fake WeChat API server; messages are signed and encrypted with
wechatpy as WeChat sends them in safe mode. With an AES key configured (as here)
the channel refuses plaintext; plaintext mode itself is covered by the channel's
unit tests (tests/bot/test_wechat_channel.py), on a channel without a key.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import uuid
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import httpx
import pytest
import xmltodict
import yaml
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from tests import staff
from tests.conftest import RASA_TOKEN
from tests.fakes.wechat_api import FakeWeChatAPI
from tests.services import ROOT, Service, rasa_service

pytestmark = pytest.mark.e2e

TOKEN = "e2e-wechat-token"
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"  # not dev.env's: no development mode needed
DEV_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # dev.env's (WeChat's published sample)
APP_ID = "wx-e2e-app"
ACCOUNT = "gh_e2e_account"
BOOKING = "TR20260001"
PHONE = "13812345678"
SERVICE_AUTH = {"Authorization": "Bearer dev-service-token"}


@pytest.fixture(scope="module")
def wechat_api() -> Iterator[FakeWeChatAPI]:
    fake = FakeWeChatAPI(app_id=APP_ID, app_secret="e2e-secret").start()
    yield fake
    fake.stop()


def model_path(request: pytest.FixtureRequest) -> Path:
    # RASA_MODEL (as `make run` sets it) lets a developer reuse a model; else the session's.
    if os.environ.get("RASA_MODEL"):
        return Path(os.environ["RASA_MODEL"]).resolve()
    return request.getfixturevalue("trained_model")


@pytest.fixture(scope="module")
def wechat_service(
    request: pytest.FixtureRequest,
    actions: Service,
    wechat_api: FakeWeChatAPI,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Service]:
    workdir = tmp_path_factory.mktemp("rasa-wechat")
    action_url = actions.health_url.replace("/health", "/webhook")
    service = rasa_service(workdir, model_path(request), action_url, RASA_TOKEN)
    service.env.update(
        WECHAT_APP_ID=APP_ID,
        WECHAT_APP_SECRET=wechat_api.app_secret,
        WECHAT_TOKEN=TOKEN,
        WECHAT_AES_KEY=AES_KEY,
        WECHAT_API_BASE=wechat_api.url,
    )
    # its own working directory, so the token cache file lands in the temp dir
    service.cwd = workdir
    service.env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), service.env.get("PYTHONPATH")]))
    service.start(timeout=900)  # loading a model takes minutes on a busy machine
    yield service
    service.stop()


@pytest.fixture(scope="module")
def wechat_rasa(wechat_service: Service) -> str:
    return wechat_service.health_url.split("/status")[0]


def rasa_auth(service: Service) -> Tuple[Dict[str, str], Dict[str, str]]:
    """(query, headers) for Rasa's HTTP API: the JWT header tests/services.py gives the service."""
    return {}, dict(service.headers)


class Traveller:
    """One WeChat user talking to the account; sees passive replies and pushed messages."""

    def __init__(self, rasa_url: str, fake: FakeWeChatAPI, safe_mode: bool = True) -> None:
        self.url = f"{rasa_url}/webhooks/wechat/webhook"
        self.fake = fake
        self.openid = "o" + uuid.uuid4().hex[:27]
        self.crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID) if safe_mode else None
        self.pushed_seen = 0

    def request(self, xml: str, params: Optional[Dict[str, str]] = None) -> Tuple[Dict[str, str], bytes]:
        """The query and body WeChat would post for `xml` (under `params`' URL if given)."""
        if params is None:
            ts, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
            signer = WeChatSigner()
            signer.add_data(TOKEN, ts, nonce)
            params = {"timestamp": ts, "nonce": nonce, "signature": signer.signature, "openid": self.openid}
        params = dict(params)
        body = xml
        if self.crypto:
            encrypted = self.crypto.encrypt_message(xml, params["nonce"], params["timestamp"])
            envelope = xmltodict.parse(encrypted)["xml"]
            params.update(encrypt_type="aes", msg_signature=envelope["MsgSignature"])
            body = (
                f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
                f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>"
            )
        return params, body.encode("utf-8")

    def text_xml(self, text: str, msg_id: Optional[int] = None) -> str:
        return (
            f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<FromUserName><![CDATA[{self.openid}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id or uuid.uuid4().int % 10**19}</MsgId></xml>"
        )

    def _post(self, xml: str) -> httpx.Response:
        params, body = self.request(xml)
        started = time.monotonic()
        response = httpx.post(self.url, params=params, content=body, timeout=10)
        assert time.monotonic() - started < 5, "WeChat would have given up and retried"
        return response

    def _passive(self, response: httpx.Response) -> Optional[str]:
        assert response.status_code == 200, response.text
        if response.text in ("success", ""):
            return None
        xml = response.text
        if self.crypto:
            envelope = xmltodict.parse(xml)["xml"]
            xml = self.crypto.decrypt_message(
                xml, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]
            )
        reply = xmltodict.parse(xml)["xml"]
        assert reply["ToUserName"] == self.openid and reply["MsgType"] == "text"
        return reply["Content"]

    def _pushed(self, wait: float) -> List[str]:
        """Messages sent to us by the message API since last time (late answers)."""
        deadline = time.monotonic() + wait
        while True:
            texts = self.fake.texts_to(self.openid)
            if len(texts) > self.pushed_seen or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        time.sleep(0.5 if len(texts) > self.pushed_seen else 0)
        texts = self.fake.texts_to(self.openid)
        new, self.pushed_seen = texts[self.pushed_seen :], len(texts)
        return new

    def say(self, text: str, msg_id: Optional[int] = None) -> str:
        passive = self._passive(self._post(self.text_xml(text, msg_id)))
        # no passive reply: the bot was slower than the budget, or the answer was too long
        pushed = self._pushed(wait=0 if passive else 30)
        return "\n".join(filter(None, [passive, *pushed]))

    def event(self, event: str) -> Optional[str]:
        xml = (
            f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<FromUserName><![CDATA[{self.openid}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[{event}]]></Event></xml>"
        )
        return self._passive(self._post(xml))


def option(reply: str, title: str) -> str:
    """The number shown for a button title in a numbered reply."""
    match = re.search(rf"^(\d+)\. {re.escape(title)}$", reply, re.M)
    assert match, f"no option {title!r} in {reply!r}"
    return match.group(1)


@pytest.fixture
def traveller(wechat_rasa: str, wechat_api: FakeWeChatAPI) -> Traveller:
    return Traveller(wechat_rasa, wechat_api)


def test_subscribe_and_greeting(traveller: Traveller):
    welcome = traveller.event("subscribe")
    assert welcome and "欢迎" in welcome
    assert "您好" in traveller.say("你好")


def test_itinerary_with_verification(traveller: Traveller, api_url: str):
    assert "订单号" in traveller.say("我想查一下我的行程")
    assert "后四位" in traveller.say(BOOKING)
    answer = traveller.say(PHONE[-4:])
    booking = staff.booking(api_url, BOOKING)  # a supervisor's read: the service token needs a grant
    assert BOOKING in answer and booking["product"] in answer


def test_complaint_answered_with_numbers(wechat_rasa: str, wechat_api: FakeWeChatAPI, api_url: str):
    """The complaint form over WeChat; its buttons (consent, request, confirm) answered by number."""
    traveller = Traveller(wechat_rasa, wechat_api)
    description = "导游在车上一直骂人，态度特别恶劣，还威胁不买东西就不让下车"
    reply = traveller.say("我要投诉")
    answered_by_number = []
    for _ in range(12):
        ticket = re.search(r"C\d{11,}", reply)
        if ticket:
            break
        if "回复数字选择" in reply and "确认提交" in reply:
            answer = option(reply, "确认提交")
        elif "回复数字选择" in reply and "同意" in reply:
            answer = option(reply, "同意")
        elif "回复数字选择" in reply and "道歉" in reply:
            answer = option(reply, "道歉")
        elif "订单号" in reply:
            answer = BOOKING
        elif "描述" in reply:
            answer = description
        elif "什么时间" in reply or "什么地方" in reply:
            answer = "12月6日上午，在大理古城的旅游大巴上"
        elif "称呼" in reply or "姓名" in reply:
            answer = "张伟"
        elif "手机号" in reply:
            answer = PHONE
        else:
            pytest.fail(f"unexpected question: {reply!r}")
        if answer.isdigit() and len(answer) < 3:
            answered_by_number.append(answer)
        reply = traveller.say(answer)
    assert ticket, reply
    assert answered_by_number, "the form's buttons were answered with their numbers"
    # The service token reads a ticket for the conversation that opened it (the openid).
    body = httpx.get(
        f"{api_url}/tickets/{ticket.group(0)}", headers={**SERVICE_AUTH, "X-Sender-Id": traveller.openid}
    ).json()
    assert body["description"] == description and body["booking_ref"] == BOOKING


def user_texts(service: Service, openid: str) -> List[str]:
    query, headers = rasa_auth(service)
    url = f"{service.health_url.split('/status')[0]}/conversations/{openid}/tracker"
    response = httpx.get(url, params=query, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    events = response.json()["events"]
    assert all(e.get("input_channel") == "wechat" for e in events if e["event"] == "user")
    return [e["text"] for e in events if e["event"] == "user"]


def test_retried_message_is_processed_once(
    wechat_service: Service, wechat_rasa: str, wechat_api: FakeWeChatAPI
):
    traveller = Traveller(wechat_rasa, wechat_api)
    msg_id = uuid.uuid4().int % 10**19
    first = traveller.say("你好", msg_id=msg_id)
    again = traveller.say("你好", msg_id=msg_id)
    assert first == again and "您好" in first
    assert user_texts(wechat_service, traveller.openid) == ["你好"]


def test_plaintext_is_refused_when_safe_mode_is_configured(
    wechat_service: Service, wechat_rasa: str, wechat_api: FakeWeChatAPI
):
    """The plain signature covers only the URL; with an AES key only safe mode is accepted."""
    traveller = Traveller(wechat_rasa, wechat_api, safe_mode=False)
    params, body = traveller.request(traveller.text_xml("你好"))
    response = httpx.post(traveller.url, params=params, content=body, timeout=10)
    assert response.status_code == 403 and "safe mode" in response.text
    assert user_texts(wechat_service, traveller.openid) == []


def test_captured_url_cannot_carry_another_message(
    wechat_service: Service, wechat_rasa: str, wechat_api: FakeWeChatAPI
):
    traveller = Traveller(wechat_rasa, wechat_api)
    params, body = traveller.request(traveller.text_xml("你好"))
    assert httpx.post(traveller.url, params=params, content=body, timeout=10).status_code == 200
    # same (timestamp, nonce, signature) for another message: the nonce is bound to the first one...
    url_only = {k: params[k] for k in ("timestamp", "nonce", "signature", "openid")}
    params2, body2 = traveller.request(traveller.text_xml("我要退款"), url_only)
    assert httpx.post(traveller.url, params=params2, content=body2, timeout=10).status_code == 403
    # ...and the first request replayed as it was is answered as a retry, not processed again
    assert httpx.post(traveller.url, params=params, content=body, timeout=10).status_code == 200
    assert user_texts(wechat_service, traveller.openid) == ["你好"]


def test_body_over_64_kb_is_refused_with_413(
    wechat_service: Service, wechat_rasa: str, wechat_api: FakeWeChatAPI
):
    traveller = Traveller(wechat_rasa, wechat_api)
    params, body = traveller.request(traveller.text_xml("长" * 22_000))  # 66 KB of text, ~88 KB encrypted
    response = httpx.post(traveller.url, params=params, content=body, timeout=10)
    assert response.status_code == 413
    assert user_texts(wechat_service, traveller.openid) == []


def test_rasa_refuses_to_start_with_the_development_aes_key(
    request: pytest.FixtureRequest,
    actions: Service,
    wechat_api: FakeWeChatAPI,
    tmp_path_factory: pytest.TempPathFactory,
):
    """APP_ENV unset is production: the channel stops Rasa before it loads the model."""
    workdir = tmp_path_factory.mktemp("rasa-wechat-dev-key")
    action_url = actions.health_url.replace("/health", "/webhook")
    service = rasa_service(workdir, model_path(request), action_url, RASA_TOKEN)
    env = {k: v for k, v in service.env.items() if k != "APP_ENV"}
    # every other dev.env secret replaced, so only the WeChat AES key is left to refuse
    env.update({k: f"e2e-{k.lower()}" for k, v in env.items() if v.startswith("dev-")})
    env.update(
        WECHAT_APP_ID=APP_ID,
        WECHAT_APP_SECRET=wechat_api.app_secret,
        WECHAT_TOKEN=TOKEN,
        WECHAT_AES_KEY=DEV_AES_KEY,
        WECHAT_API_BASE=wechat_api.url,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    )
    # the repository's WeChat settings alone: other channels have start-up checks of their own
    settings = yaml.safe_load((ROOT / "credentials.yml").read_text())
    wechat_only = {key: value for key, value in settings.items() if "wechat" in key}
    (workdir / "credentials.yml").write_text(yaml.safe_dump(wechat_only))
    args = list(service.args)
    args[args.index("--credentials") + 1] = str(workdir / "credentials.yml")
    with open(workdir / "rasa.log", "wb") as log:
        # without the check Rasa would load the model and serve: the timeout fails the test
        process = subprocess.run(
            args, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=600
        )
    output = (workdir / "rasa.log").read_text(errors="replace")
    assert process.returncode != 0, output[-2000:]
    assert "WECHAT_AES_KEY" in output and "APP_ENV" in output, output[-2000:]


def test_agent_message_reaches_the_traveller(
    wechat_service: Service, wechat_rasa: str, wechat_api: FakeWeChatAPI
):
    """What the ticketing API does during a handoff: a bot event with output_channel=wechat."""
    traveller = Traveller(wechat_rasa, wechat_api)
    traveller.say("你好")
    query, headers = rasa_auth(wechat_service)
    response = httpx.post(
        f"{wechat_rasa}/conversations/{traveller.openid}/tracker/events",
        params={**query, "output_channel": "wechat", "execute_side_effects": "true"},
        headers=headers,
        json={"event": "bot", "text": "您好，我是人工客服小李，您的问题我来跟进。"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert (
        wechat_api.wait_for(traveller.openid, 1, timeout=10)[-1]
        == "您好，我是人工客服小李，您的问题我来跟进。"
    )
