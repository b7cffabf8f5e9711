"""The real Rasa server as `make run` starts it (bot/serve.py): closed and bounded (issue 14)."""

from __future__ import annotations

import subprocess
import uuid

import httpx
import pytest

from tests.conftest import RASA_AUTH, RASA_TOKEN

http = httpx.Client(timeout=120)


def test_the_http_api_takes_a_jwt_and_not_a_query_token(rasa_url):
    assert http.get(f"{rasa_url}/status").status_code == 401
    assert http.get(f"{rasa_url}/status", params={"token": RASA_TOKEN}).status_code == 401
    forged = {"Authorization": RASA_AUTH["Authorization"][:-4] + "AAAA"}
    assert http.get(f"{rasa_url}/status", headers=forged).status_code == 401
    assert http.get(f"{rasa_url}/status", headers=RASA_AUTH).status_code == 200


def test_cors_only_for_the_sites_origin(rasa_url, rasa):
    site = rasa.env["RASA_CORS_ORIGINS"].split()[0]
    for origin, allowed in ((site, True), ("https://evil.example", False)):
        answer = http.options(
            f"{rasa_url}/webhooks/rest/webhook",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        )
        assert (answer.headers.get("Access-Control-Allow-Origin") == origin) is allowed, answer.headers


def test_rasa_listens_on_loopback_only(rasa_url):
    port = rasa_url.rsplit(":", 1)[1]
    listening = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True).stdout
    if not listening.strip():
        pytest.skip("ss not available")
    assert {line.split()[3] for line in listening.splitlines()} == {f"127.0.0.1:{port}"}


def test_an_over_long_message_gets_a_polite_reply_and_stays_out_of_the_tracker(rasa_url, rasa):
    limit = int(rasa.env["RASA_MAX_MESSAGE_CHARS"])
    sender = f"long-{uuid.uuid4().hex[:8]}"
    text = "导游态度很差" * (limit // 6 + 1)
    answer = http.post(f"{rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text})
    assert answer.status_code == 200
    replies = answer.json()
    assert len(replies) == 1 and "太长" in replies[0]["text"] and str(limit) in replies[0]["text"]
    tracker = http.get(f"{rasa_url}/conversations/{sender}/tracker", headers=RASA_AUTH).json()
    assert not [e for e in tracker["events"] if e.get("event") == "user"]
    # The conversation goes on normally afterwards.
    after = http.post(f"{rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": "你好"})
    assert after.status_code == 200 and after.json() and "太长" not in after.json()[0].get("text", "")


def test_a_request_above_the_size_limit_is_refused_politely(rasa_url, rasa):
    size = int(rasa.env["RASA_MAX_REQUEST_BYTES"])
    answer = http.post(f"{rasa_url}/webhooks/rest/webhook", json={"sender": "huge", "message": "长" * size})
    assert answer.status_code == 413
    assert "太长" in answer.json()[0]["text"]
    assert http.get(f"{rasa_url}/status", headers=RASA_AUTH).status_code == 200  # still up
