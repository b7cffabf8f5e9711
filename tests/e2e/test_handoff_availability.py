"""The queue reply with the real Rasa, action server and API (issue 15/16, DESIGN §6): the wait
in minutes only while agents are online within the opening hours, and the agents' statuses
as the API derives them from logins, choices and logouts.

The API's clock is the machine's, so which branch applies depends on the hour in China: the
test reads the API's own view (GET /auth/presence) and checks the bot's reply against it; the
exact hours are tested with a given clock in api/tests and tests/actions.
"""

from __future__ import annotations

import pytest

from tests.conftest import texts
from tests.e2e.test_handoff import console_api, http, login  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def desk(base: str, supervisor: dict) -> dict:
    response = http.get(f"{base}/auth/presence", headers=supervisor)
    assert response.status_code == 200, response.text
    return response.json()


def test_an_agent_online_gives_the_traveller_a_wait_in_minutes(chat, console_api):  # noqa: F811
    supervisor = login(console_api, "supervisor")
    agent = login(console_api, "agent1")  # logging in is going online
    assert (
        http.put(f"{console_api}/auth/presence", json={"status": "online"}, headers=agent).status_code == 200
    )
    now = desk(console_api, supervisor)
    assert now["online_agents"] >= 1
    assert {p["username"]: p["status"] for p in now["items"]}["agent1"] == "online"
    told = texts(chat("我要转人工客服"))
    assert "排在第" in told
    if now["open_now"]:
        assert "预计等待约" in told and "分钟" in told and "没有客服在线" not in told, told
    else:
        assert "非服务时间" in told and "上班后" in told and "分钟" not in told, told

    # Logging out is going offline, whichever API worker answers next (the state is in the database).
    assert http.post(f"{console_api}/auth/logout", headers=agent).status_code == 200
    assert {p["username"]: p["status"] for p in desk(console_api, supervisor)["items"]}["agent1"] == "offline"
