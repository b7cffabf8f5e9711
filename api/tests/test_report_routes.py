"""GET /report and GET /report.csv over HTTP on SQLite and PostgreSQL: four tickets made through
the API across a China-time week boundary, two handoffs in the period and one before it; every
expected figure is counted by hand from the `desk` fixture below. Who may read the report, and
the CSV carries the JSON's figures."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import pytest

from app.models import Handoff
from app.services.deadlines import CHINA_TZ
from tests.conftest import login
from tests.factories import create_ticket

PERIOD = {"from": "2026-11-23", "to": "2026-11-30", "granularity": "week"}


def cn(month, day, hour, minute=0):
    return datetime(2026, month, day, hour, minute, tzinfo=CHINA_TZ)


def handoff(db, when, reason, conversation_id, *, agent=None, reply_after=None, last=None):
    row = Handoff(
        conversation_id=conversation_id,
        channel="socketio",
        reason=reason,
        severity="general",
        colour="yellow",
        summary={"last_message": last} if last else {},
        status="active" if agent else "waiting",
        agent=agent,
        created_at=when,
        taken_at=when + timedelta(minutes=2) if agent else None,
        first_agent_reply_at=when + timedelta(seconds=reply_after) if reply_after else None,
        first_reply_wait_seconds=reply_after,
    )
    db.add(row)
    db.flush()


@pytest.fixture
def desk(client, service, clock, db):
    def at(when, **fields):
        clock.set(when)
        return create_ticket(client, service, **fields)

    # A, B on Monday of ISO week 48; C at 23:30 on Sunday (week 48 in China, 15:30 UTC);
    # D at 00:30 on Monday 30 November: week 49 in China although still Sunday in UTC.
    a = at(cn(11, 23, 9), category="meals", severity="general")  # TR20260001, 13812345678
    b = at(
        cn(11, 23, 9, 30), category="safety", severity="urgent", booking_ref="TR20260002", phone="13900001111"
    )
    c = at(cn(11, 29, 23, 30), category="billing", severity="general", booking_ref=None)  # same phone as A
    d = at(cn(11, 30, 0, 30), category="meals", severity="major")  # same booking as A: flagged
    clock.set(cn(11, 23, 10))
    owner = login(client, a["owner"]["username"])
    moved = client.post(
        f"/tickets/{a['ticket_no']}/transitions", json={"status": "investigating"}, headers=owner
    )
    assert moved.status_code == 200, moved.text
    for ticket, stars in ((a, 5), (d, 2)):
        rated = client.patch(
            f"/tickets/{ticket['ticket_no']}/feedback",
            json={"satisfaction": stars},
            headers={**service, "X-Sender-Id": ticket["conversation_id"]},
        )
        assert rated.status_code == 200, rated.text
    handoff(db, cn(11, 23, 9, 5), "request_human", a["conversation_id"], agent="agent1", reply_after=300)
    handoff(db, cn(11, 30, 1), "fallback", "conv-elsewhere", last="我叫王小明，我的订单呢")
    handoff(db, cn(11, 20, 9), "fallback", "conv-before", last="上周的问题")  # before the period
    # C's traveller had an agent in the same conversation (a WeChat openid) two weeks earlier:
    # that old handoff did not help with C, which the bot still handled alone.
    handoff(db, cn(11, 14, 9), "request_human", c["conversation_id"], agent="agent1", reply_after=60)
    clock.set(cn(12, 1, 12))
    return {"a": a, "b": b, "c": c, "d": d}


def test_report_figures(client, desk):
    body = client.get("/report", params=PERIOD, headers=login(client, "supervisor"))
    assert body.status_code == 200, body.text
    got = body.json()
    assert (got["start"], got["end"], got["granularity"]) == ("2026-11-23", "2026-11-30", "week")
    assert got["total"] == 4
    assert got["by_category"] == {"meals": 2, "billing": 1, "safety": 1}
    assert got["by_severity"] == {"general": 2, "major": 1, "urgent": 1}
    assert got["by_department"] == {"operations": 2, "finance": 1, "security": 1}
    assert got["by_status"] == {"received": 3, "investigating": 1}
    assert [(p["period"], p["total"]) for p in got["periods"]] == [("2026-W48", 3), ("2026-W49", 1)]
    steps = {row["step"]: row for row in got["deadlines"]}
    # first response: A answered by its owner; B (15 min), C (24 h), D (24 h) overdue on 1 Dec noon
    assert steps["first_response"] == {
        "step": "first_response",
        "met": 1,
        "breached": 3,
        "open": 0,
        "met_share": 0.25,
    }
    # investigated: A met; B due 24 Nov, C due 30 Nov 18:00 overdue; D due 1 Dec 18:00 still open
    assert steps["investigated"] == {
        "step": "investigated",
        "met": 1,
        "breached": 2,
        "open": 1,
        "met_share": 0.3333,
    }
    assert got["satisfaction"] == {"count": 2, "score": 70.0, "low": 1, "target": 90}
    assert got["repeats"] == {"tickets": 2, "groups": 1, "flagged": 1}  # {A, C, D}
    first = got["first_reply"]
    assert (
        first["handoffs"],
        first["replied"],
        first["unanswered"],
        first["mean_seconds"],
        first["mean_after_take_seconds"],
        first["within_target"],
    ) == (2, 1, 1, 300, 180, 1)
    assert first["by_agent"] == [
        {"agent": "agent1", "name": "张敏", "replied": 1, "mean_seconds": 300, "within_target": 1}
    ]
    assert got["containment"] == {
        "bot_tickets": 4,
        "contained": 3,
        "share": 0.75,
        "handoffs": 2,
        "handoffs_by_reason": {"fallback": 1, "request_human": 1},
    }
    assert got["misunderstood"] == [{"text": "我叫王**，我的订单呢", "count": 1}]
    assert "13812345678" not in body.text and "王小明" not in body.text and "TR2026" not in body.text


def test_report_by_month(client, desk):
    got = client.get(
        "/report",
        params={"from": "2026-11-23", "to": "2026-12-01", "granularity": "month"},
        headers=login(client, "supervisor"),
    ).json()
    assert [(p["period"], p["total"]) for p in got["periods"]] == [("2026-11", 4), ("2026-12", 0)]


def test_only_supervisors_read_the_report(client, service, desk):
    for path in ("/report", "/report.csv"):
        assert client.get(path, params=PERIOD).status_code == 401
        assert client.get(path, params=PERIOD, headers=service).status_code == 403
        assert client.get(path, params=PERIOD, headers=login(client, "agent1")).status_code == 403
        assert client.get(path, params=PERIOD, headers=login(client, "supervisor")).status_code == 200


def test_bad_periods_are_refused(client, desk):
    supervisor = login(client, "supervisor")
    assert (
        client.get(
            "/report", params={"from": "2026-12-01", "to": "2026-11-01"}, headers=supervisor
        ).status_code
        == 422
    )
    assert (
        client.get(
            "/report", params={"from": "2020-01-01", "to": "2026-11-01"}, headers=supervisor
        ).status_code
        == 422
    )
    assert (
        client.get(
            "/report.csv", params={"from": "0001-01-01", "to": "9999-12-31"}, headers=supervisor
        ).status_code
        == 422
    )
    assert client.get("/report", params={"granularity": "day"}, headers=supervisor).status_code == 422


def test_csv_parses_and_matches_the_json(client, desk):
    supervisor = login(client, "supervisor")
    figures = client.get("/report", params=PERIOD, headers=supervisor).json()
    response = client.get("/report.csv", params=PERIOD, headers=supervisor)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="report-2026-11-23-2026-11-30-week.csv"' in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads the Chinese right
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert list(rows[0]) == ["分项", "section", "周期", "维度", "代码", "名称", "数值"]
    cell = {(r["section"], r["周期"], r["代码"]): r for r in rows}

    def value(section, code, period="全部"):
        return cell[(section, period, code)]["数值"]

    assert value("volume", "total") == str(figures["total"])
    for dimension in ("category", "severity", "stage", "department", "status"):
        for code, n in figures[f"by_{dimension}"].items():
            assert value("volume", code) == str(n)  # codes are unique across the dimensions
    assert cell[("volume", "全部", "meals")]["名称"] == "餐饮"
    for period in figures["periods"]:
        assert value("trend", "total", period["period"]) == str(period["total"])
        for code, n in period["by_category"].items():
            assert value("trend", code, period["period"]) == str(n)
    for step in figures["deadlines"]:
        for key in ("met", "breached", "open"):
            assert value("deadlines", f"{step['step']}.{key}") == str(step[key])
    assert value("deadlines", "first_response.met_share") == "0.25"
    assert cell[("deadlines", "全部", "first_response.met")]["维度"] == "首次响应"
    assert value("satisfaction", "score") == "70.0"
    assert value("repeats", "tickets") == str(figures["repeats"]["tickets"])
    assert value("first_reply", "mean_seconds") == "300"
    assert value("first_reply_agent", "agent1.mean_seconds") == "300"
    assert value("containment", "share") == "0.75"
    assert value("containment", "handoffs.fallback") == "1"
    assert cell[("misunderstood", "全部", "1")]["名称"] == "我叫王**，我的订单呢"
    assert len([r for r in rows if r["section"] == "trend" and r["代码"] == "total"]) == len(
        figures["periods"]
    )


@pytest.mark.parametrize("granularity, weekday_or_day", [("week", 0), ("month", 1)])
def test_the_default_period_starts_on_a_whole_week_or_month(client, desk, granularity, weekday_or_day):
    body = client.get(
        "/report", params={"granularity": granularity}, headers=login(client, "supervisor")
    ).json()
    start = date.fromisoformat(body["start"])
    assert (start.weekday() if granularity == "week" else start.day) == weekday_or_day
