"""The action server as started by `make run` and the suite (actions/server.py), for real.

Only Rasa (with ACTION_SERVER_TOKEN) may run actions: the actions call the ticketing API
with its service token, so a forged tracker from anyone else would read any booking.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Iterator

import httpx
import pytest

from tests.services import ROOT, Service, action_service, base_env, free_port

TOKEN = "test-action-server-token-0123456789"
CALL = {
    "next_action": "action_read_message",
    "sender_id": "forger",
    "version": "3.6.2",
    "domain": {},
    "tracker": {
        "sender_id": "forger",
        "slots": {"booking_number": "TR20260001", "phone_last4": "5678"},
        "latest_message": {"text": "查行程 13812345678", "intent": {"name": "inform"}},
        "events": [],
    },
}


@pytest.fixture(scope="module")
def action_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    service = action_service(tmp_path_factory.mktemp("closed-actions"), "http://127.0.0.1:9")
    service.env["ACTION_SERVER_TOKEN"] = TOKEN
    service.start(timeout=120)
    yield service
    service.stop()


def url(service: Service, path: str) -> str:
    return service.health_url.replace("/health", path)


def test_health_is_open(action_server):
    assert httpx.get(action_server.health_url).json() == {"status": "ok"}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}])
def test_actions_need_the_shared_secret(action_server, headers):
    assert httpx.post(url(action_server, "/webhook"), json=CALL, headers=headers).status_code == 401
    assert httpx.get(url(action_server, "/actions"), headers=headers).status_code == 401


def test_rasa_with_the_secret_is_served(action_server):
    listed = httpx.get(url(action_server, "/actions"), headers={"Authorization": f"Bearer {TOKEN}"})
    assert listed.status_code == 200 and {"name": "action_read_message"} in listed.json()


def test_a_failing_action_answers_without_the_tracker(action_server):
    # A tracker the SDK cannot read makes the action raise: rasa-sdk's own handler answered
    # 500 with the whole request (the tracker), which Rasa wrote to its error log.
    broken = {**CALL, "tracker": {**CALL["tracker"], "events": "not a list", "slots": None}}
    answer = httpx.post(
        url(action_server, "/webhook"), json=broken, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert answer.status_code == 500
    assert answer.json() == {"error": "internal error", "action_name": "action_read_message"}
    assert "TR20260001" not in answer.text and "1381234" not in answer.text
    assert "TR20260001" not in action_server.log_tail(200)
    assert "13812345678" not in action_server.log_tail(200)


def test_it_listens_on_loopback_only(action_server):
    port = int(action_server.health_url.split(":")[2].split("/")[0])
    listening = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True).stdout
    if not listening.strip():
        pytest.skip("ss not available")
    local = {line.split()[3] for line in listening.splitlines()}  # State Recv-Q Send-Q Local Peer
    assert local == {f"127.0.0.1:{port}"}


def test_it_refuses_development_secrets_unless_development(tmp_path):
    env = base_env(APP_ENV="production", ACTION_PORT=str(free_port()))
    env.update(ACTION_SERVER_TOKEN="dev-action-server-token", API_SERVICE_TOKEN="s" * 32)
    refused = subprocess.run(
        [sys.executable, "-m", "actions.server", "--port", env["ACTION_PORT"], "--actions", "actions"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode != 0
    assert "ACTION_SERVER_TOKEN" in refused.stderr and "development" in refused.stderr
    env.pop("APP_ENV")  # unset is production as well
    refused = subprocess.run(
        [sys.executable, "-m", "actions.server", "--port", env["ACTION_PORT"], "--actions", "actions"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode != 0 and "unset, i.e. production" in refused.stderr


# --- the domain by digest (actions/server.py keep_domains, bot/patches.py) -----------------


def test_the_domain_is_sent_until_the_server_has_it_and_again_after_a_restart(action_server):
    """Rasa's side (patched RemoteAction) against the real server, restarted in between: the
    session start reads the domain's session_config, so a call the server answered without
    the domain would carry the slots over."""
    import asyncio

    from rasa.core.actions.action import RemoteAction
    from rasa.core.channels import CollectingOutputChannel
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import SlotSet
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import EndpointConfig

    from bot import patches

    assert patches.apply()
    domain = Domain.from_yaml(
        "version: '3.1'\nslots:\n  complaint_description:\n    type: text\n    mappings:\n"
        "    - type: custom\nsession_config:\n  session_expiration_time: 60\n"
        "  carry_over_slots_to_new_session: false\n"
    )
    endpoint = EndpointConfig(
        url=url(action_server, "/webhook"), headers={"Authorization": f"Bearer {TOKEN}"}
    )
    sent: list = []
    stock = patches._stock_action_call_format

    def recording(self, tracker, dom):
        call = patches._action_call_format(self, tracker, dom)
        sent.append(("domain" in call, call.get(patches.DOMAIN_DIGEST_KEY)))
        return call

    def session_start():
        tracker = DialogueStateTracker.from_events("digest", [SlotSet("complaint_description", "房间很脏")])
        action = RemoteAction("action_session_start", endpoint)
        nlg = TemplatedNaturalLanguageGenerator(domain.responses)
        return asyncio.run(action.run(CollectingOutputChannel(), nlg, tracker, domain))

    def carried(events):
        return [e for e in events if isinstance(e, SlotSet) and e.key == "complaint_description"]

    patches.RemoteAction._action_call_format = recording
    try:
        first, second = session_start(), session_start()
        action_server.stop()
        action_server.start(timeout=120)  # a new process: it knows no domain
        third, fourth = session_start(), session_start()
    finally:
        patches.RemoteAction._action_call_format = patches._action_call_format
    assert stock is not patches._action_call_format
    digest = patches.domain_digest(domain)
    # with the domain; digest only; digest only -> 449 -> again with the domain; digest only
    assert sent == [(True, digest), (False, digest), (False, digest), (True, digest), (False, digest)]
    for events in (first, second, third, fourth):
        assert not carried(events)  # the domain's session_config was applied every time
