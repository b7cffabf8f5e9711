"""bot/serve.py: how the Rasa server is started and how travellers' input is bounded."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import httpx
import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

import servicekit
from bot import serve
from tests.services import ROOT, base_env, free_port

DEV = {"APP_ENV": "development", "RASA_JWT_SECRET": "dev-rasa-jwt-secret"}
RUN = ["run", "--enable-api", "--port", "5005", "--model", "m.tar.gz"]


def test_rasa_binds_loopback_by_default_and_rasa_host_when_set():
    args = serve.rasa_arguments(RUN, DEV)
    assert args[args.index("--interface") + 1] == "127.0.0.1"
    args = serve.rasa_arguments(RUN, {**DEV, "RASA_HOST": "10.0.0.5"})
    assert args[args.index("--interface") + 1] == "10.0.0.5"


def test_cors_is_the_sites_origin_and_never_star_outside_development():
    args = serve.rasa_arguments(
        RUN, {**DEV, "RASA_CORS_ORIGINS": "https://kefu.example.com, https://www.example.com"}
    )
    assert args[args.index("--cors") + 1 : args.index("--cors") + 3] == [
        "https://kefu.example.com",
        "https://www.example.com",
    ]
    assert "--cors" not in serve.rasa_arguments(RUN, DEV)  # none unless configured
    with pytest.raises(servicekit.InsecureConfiguration):
        serve.rasa_arguments(
            RUN, {"APP_ENV": "production", "RASA_JWT_SECRET": "s" * 40, "RASA_CORS_ORIGINS": "*"}
        )


def test_the_http_api_takes_a_jwt_never_a_query_token():
    args = serve.rasa_arguments(RUN, DEV)
    assert args[args.index("--jwt-secret") + 1] == "dev-rasa-jwt-secret"
    with pytest.raises(servicekit.InsecureConfiguration, match="--auth-token"):
        serve.rasa_arguments([*RUN, "--auth-token", "x"], DEV)
    with pytest.raises(servicekit.InsecureConfiguration, match="RASA_JWT_SECRET"):
        serve.rasa_arguments(RUN, {"APP_ENV": "development"})


def test_rasa_refuses_development_secrets_unless_development():
    with pytest.raises(servicekit.InsecureConfiguration):
        serve.check_startup({"RASA_JWT_SECRET": "dev-rasa-jwt-secret", "ACTION_SERVER_TOKEN": "t" * 40})
    serve.check_startup(
        {"APP_ENV": "development", "RASA_JWT_SECRET": "dev-x", "ACTION_SERVER_TOKEN": "dev-y"}
    )
    env = base_env(APP_ENV="production", RASA_JWT_SECRET="dev-rasa-jwt-secret")
    refused = subprocess.run(
        [sys.executable, "-m", "bot.serve", *RUN],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert refused.returncode != 0 and "RASA_JWT_SECRET" in refused.stderr


def test_an_over_long_message_is_answered_politely_and_not_processed(monkeypatch):
    processed = []

    async def stock(_agent, message):
        processed.append(message.text)

    monkeypatch.setattr(serve, "_stock_handle_message", stock)
    monkeypatch.setenv("RASA_MAX_MESSAGE_CHARS", "2000")
    out = CollectingOutputChannel()
    asyncio.run(serve.handle_message(None, UserMessage("投诉" * 1001, out, "t1", input_channel="rest")))
    assert processed == []
    assert len(out.messages) == 1 and "太长" in out.messages[0]["text"] and "2000" in out.messages[0]["text"]
    asyncio.run(serve.handle_message(None, UserMessage("投诉" * 1000, out, "t1", input_channel="rest")))
    assert processed == ["投诉" * 1000]


def test_lone_surrogates_are_replaced_before_processing(monkeypatch):
    processed = []

    async def stock(_agent, message):
        processed.append(message.text)

    monkeypatch.setattr(serve, "_stock_handle_message", stock)
    out = CollectingOutputChannel()
    asyncio.run(
        serve.handle_message(None, UserMessage("转\ud83d人工\udc00😀", out, "t1", input_channel="rest"))
    )
    assert processed == ["转\ufffd人工\ufffd😀"]
    processed[0].encode("utf-8")  # storable and loggable now


SANIC_APP = """
import sys
from sanic import Sanic, response
from bot import serve

app = serve.bound_app(Sanic("bounded"))

@app.post("/webhooks/rest/webhook")
async def rest(request):
    return response.json([{"recipient_id": "x", "text": "ok"}])

app.run("127.0.0.1", int(sys.argv[1]), access_log=False)
"""


def test_a_request_above_the_size_limit_gets_a_polite_413(tmp_path):
    port = free_port()
    env = base_env(RASA_MAX_REQUEST_BYTES="4096")
    log = open(tmp_path / "sanic.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-c", SANIC_APP, str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        url = f"http://127.0.0.1:{port}/webhooks/rest/webhook"
        deadline = time.monotonic() + 600  # importing Rasa on a busy 2-core machine
        while True:
            try:
                small = httpx.post(url, json={"sender": "a", "message": "你好"})
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and process.poll() is None, (
                    tmp_path / "sanic.log"
                ).read_text()
                time.sleep(0.3)
        assert small.status_code == 200
        big = httpx.post(url, json={"sender": "a", "message": "长" * 5000})
        assert big.status_code == 413
        assert "太长" in big.json()[0]["text"]
    finally:
        process.terminate()
        process.wait(timeout=20)
