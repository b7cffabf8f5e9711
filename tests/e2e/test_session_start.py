"""A new Rasa session does not keep the booking verification (actions/session.py), on the real services."""

from __future__ import annotations

import pytest

from tests.conftest import RASA_AUTH
from tests.e2e.test_handoff import http, tracker_of

pytestmark = pytest.mark.e2e


def test_a_new_session_forgets_the_verification_but_not_the_booking_number(chat, rasa_url):
    chat("查行程 TR20260001 尾号5678")
    slots = tracker_of(rasa_url, chat.sender)["slots"]
    assert slots["verified_booking"] == "TR20260001", slots
    # What Rasa runs after session_expiration_time minutes of silence.
    started = http.post(
        f"{rasa_url}/conversations/{chat.sender}/execute",
        json={"name": "action_session_start"},
        headers=RASA_AUTH,
    )
    assert started.status_code == 200, started.text
    slots = tracker_of(rasa_url, chat.sender)["slots"]
    assert slots["verified_booking"] is None and slots.get("phone_last4") is None
    assert not slots.get("verify_grant")
    assert slots["booking_ref"] == "TR20260001"  # what the traveller told us stays
