"""GET /labels: the Chinese labels the console shows instead of codes, keys and usernames."""

from __future__ import annotations

from typing import get_args

from app.api.routes import labels as labels_route
from app.schemas.handoff import HandoffStatus, Reason, Sender
from app.schemas.ticket import Compensation, DeadlineState, RequestKind, Status
from app.services import deadlines
from app.services.taxonomy import Category, Severity, Stage


def test_staff_read_every_label_from_the_apis_own_tables(client, agent1):
    response = client.get("/labels", headers=agent1)
    assert response.status_code == 200, response.text
    body = response.json()
    # From taxonomy and workflow, not a copy.
    assert body["categories"]["service_attitude"] == "服务态度" and set(body["categories"]) == set(
        map(str, Category)
    )
    assert body["severities"] == {"urgent": "紧急", "major": "重大", "general": "一般"}
    assert body["ticket_statuses"]["followed_up"] == "已回访"
    assert body["departments"]["security"] == "安全保卫部"
    # The slot keys agents saw raw; channel codes; button intents.
    assert body["fields"]["complaint_when_where"] == "时间地点"
    assert body["requests"]["fix"] == "整改/解决问题"
    assert body["channels"]["socketio"] == "网站聊天窗口"
    assert body["intents"]["affirm"]
    assert "verify_grant" in body["hidden_fields"]
    # Display names of the desk, not only usernames.
    assert body["staff"]["agent1"] and body["staff"]["agent1"] != "agent1"
    assert set(body["staff"]) >= {"agent1", "agent2", "supervisor"}


def test_every_code_the_schemas_accept_has_a_label(client, supervisor):
    body = client.get("/labels", headers=supervisor).json()
    expected = {
        "categories": {str(c) for c in Category},
        "severities": {str(s) for s in Severity},
        "stages": {str(s) for s in Stage},
        "ticket_statuses": set(get_args(Status)),
        "handoff_statuses": set(get_args(HandoffStatus)),
        "handoff_reasons": set(get_args(Reason)),
        "senders": set(get_args(Sender)),
        "requests": set(get_args(RequestKind)),
        "deadlines": set(deadlines.DEADLINE_NAMES),
        "deadline_states": set(get_args(DeadlineState)),
        "compensation_statuses": set(get_args(Compensation.model_fields["status"].annotation)),
    }
    for table, codes in expected.items():
        assert set(body[table]) == codes, table
    for table, values in body.items():
        if isinstance(values, dict):
            assert all(isinstance(v, str) and v.strip() for v in values.values()), table
    assert not set(body["fields"]) & set(body["hidden_fields"])


def test_labels_need_a_staff_login(client, service):
    assert client.get("/labels").status_code == 401
    assert client.get("/labels", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    # The bot has no use for them (and they name the desk's staff).
    assert client.get("/labels", headers=service).status_code == 403


def test_static_tables_are_the_services_objects():
    from app.services import workflow

    assert labels_route.static_labels()["ticket_statuses"] == workflow.STATUS_LABELS
