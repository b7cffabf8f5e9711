"""The traveller is told when an agent joins (issue 15): the take sends one notice, in the
agent's display name, through the conversation's channel; a failing Rasa does not undo the take."""

from __future__ import annotations

from tests.routes.test_handoffs import open_handoff, rasa  # noqa: F401  (FakeRasa fixture)


def test_taking_a_handoff_tells_the_traveller_who_joined_once(client, service, agent1, agent2, rasa):  # noqa: F811
    handoff = open_handoff(client, service)
    assert client.post(f"/handoffs/{handoff['id']}/take", headers=agent1).status_code == 200
    said = [e for e in rasa.events["web-abc123"] if e["event"] == "bot"]
    assert len(said) == 1
    name = said[0]["metadata"]["handoff_agent"]
    assert name and name != "agent1"  # the display name, not the username
    assert said[0]["text"] == f"客服{name}已接入，正在为您处理。"
    method, path, params = rasa.calls[-1]
    assert (method, path, params["output_channel"]) == ("POST", "tracker/events", "socketio")
    # The holder's second click and another agent's refused take send nothing more.
    client.post(f"/handoffs/{handoff['id']}/take", headers=agent1)
    assert client.post(f"/handoffs/{handoff['id']}/take", headers=agent2).status_code == 409
    assert len([e for e in rasa.events["web-abc123"] if e["event"] == "bot"]) == 1


def test_the_take_stands_when_rasa_cannot_pass_the_notice_on(client, service, agent1, rasa):  # noqa: F811
    handoff = open_handoff(client, service)
    rasa.down = True
    taken = client.post(f"/handoffs/{handoff['id']}/take", headers=agent1)
    assert taken.status_code == 200 and taken.json()["status"] == "active"
