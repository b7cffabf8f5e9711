"""A refund question during the trip says how to leave early, not only how it is computed."""

from __future__ import annotations

from datetime import date, timedelta

from actions.refunds import refund_text

TODAY = date(2026, 12, 7)


def booking(departure: date, end: date) -> dict:
    return {
        "ref": "TR20260001",
        "departure_date": departure.isoformat(),
        "return_date": end.isoformat(),
        "price_cny": 5000,
        "tour_type": "domestic",
    }


def test_during_the_trip_the_answer_offers_to_register_leaving_early():
    text = refund_text(booking(TODAY - timedelta(days=2), TODAY + timedelta(days=3)), TODAY)
    assert "第2款" in text
    assert "登记" in text and "退团" in text.split("第2款")[1], text


def test_before_and_after_the_trip_no_such_offer():
    before = refund_text(booking(TODAY + timedelta(days=20), TODAY + timedelta(days=25)), TODAY)
    after = refund_text(booking(TODAY - timedelta(days=9), TODAY - timedelta(days=4)), TODAY)
    assert "提前离团" not in before and "提前离团" not in after
