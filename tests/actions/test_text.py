"""What the traveller reads, from the API's own shapes (demo booking fixture, ticket schema)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from actions.utils.text import (
    format_itinerary_answer,
    format_ticket_created,
    format_ticket_progress,
    format_time,
)
from tests.services import ROOT

BOOKING = json.loads((ROOT / "api" / "fixtures" / "bookings.json").read_text())["bookings"][0]


def test_hotel_on_a_given_day():
    day2 = BOOKING["itinerary"][1]
    answer = format_itinerary_answer(BOOKING, "hotel", 2)
    assert day2["hotel"] in answer
    others = {d["hotel"] for d in BOOKING["itinerary"] if d["hotel"] and d["hotel"] != day2["hotel"]}
    assert not any(h in answer for h in others)


def test_meeting_before_departure_is_the_first_days():
    # During the trip it is today's (tests/actions/test_itinerary_followups.py): the date is given.
    meeting = BOOKING["itinerary"][0]["meeting"]
    answer = format_itinerary_answer(BOOKING, "meeting", None, today=date(2026, 12, 1))
    assert meeting["time"] in answer and meeting["place"] in answer


def test_flights_and_guide():
    flights = [f for d in BOOKING["itinerary"] for f in d["flights"]]
    answer = format_itinerary_answer(BOOKING, "flight", None)
    assert all(f["number"] in answer for f in flights)
    assert BOOKING["guide_phone"] in format_itinerary_answer(BOOKING, "guide", None)


def test_day_out_of_range_is_explained():
    assert "没有第99天" in format_itinerary_answer(BOOKING, "hotel", 99)


def test_overview_names_the_product():
    answer = format_itinerary_answer(BOOKING, None, None)
    assert BOOKING["product"] in answer and BOOKING["ref"] in answer


def test_ticket_created_lists_deadlines_in_china_time():
    ticket = {
        "ticket_no": "C20261123001",
        "status": "received",
        "status_label": "已受理",
        "severity": "major",
        "severity_label": "重大",
        "department_name": "安全保卫部",
        "deadlines": [
            {"name": "resolution", "label": "办结时限", "due_at": "2026-11-25T02:00:00Z", "state": "due"},
            {"name": "first_response", "label": "首次响应", "due_at": "2026-11-24T02:00:00Z", "state": "due"},
        ],
    }
    text = format_ticket_created(ticket)
    assert "C20261123001" in text and "重大" in text and "安全保卫部" in text
    # The API's labels as sent, in the order the steps fall due.
    assert "· 首次响应：11月24日 10:00 前\n· 办结时限：11月25日 10:00 前" in text


def test_progress_without_measures_says_so():
    progress = {
        "status": "received",
        "status_label": "已受理",
        "measures": [],
        "expected_completion": None,
        "responsible_person": None,
    }
    text = format_ticket_progress({"ticket_no": "C1", "progress": progress})
    assert "已受理" in text and "暂无" in text


@pytest.mark.parametrize("value, expected", [("2026-01-05", "1月5日"), ("", ""), (None, "")])
def test_format_time_edges(value, expected):
    assert format_time(value) == expected
