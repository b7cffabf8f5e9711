"""The refund schedule as trainers ship it, and the arithmetic on it."""

from __future__ import annotations

from datetime import date

import pytest

from actions.utils.refund import compute_deduction, days_until, format_deduction, load_schedules


def test_schedule_brackets_are_complete_and_disjoint():
    for tour_type, schedule in load_schedules().items():
        covered = []
        for bracket in schedule["brackets"]:
            assert bracket["from_days"] >= bracket["to_days"], tour_type
            covered.extend(range(bracket["to_days"], bracket["from_days"] + 1))
        assert sorted(covered) == list(range(schedule["free_from_days"])), tour_type
        assert schedule["source"] and schedule["clause"]


@pytest.mark.parametrize("tour_type", ["domestic", "outbound"])
def test_early_cancellation_only_pays_costs_incurred(tour_type):
    free = load_schedules()[tour_type]["free_from_days"]
    deduction = compute_deduction(tour_type, 10000, free)
    assert deduction.percent is None and deduction.amount is None


@pytest.mark.parametrize("tour_type", ["domestic", "outbound"])
def test_percentages_grow_as_departure_nears(tour_type):
    free = load_schedules()[tour_type]["free_from_days"]
    percents = [compute_deduction(tour_type, 10000, d).percent for d in range(free - 1, -1, -1)]
    assert percents == sorted(percents)
    assert all(0 < p <= 100 for p in percents)


def test_amount_and_refund_add_up():
    deduction = compute_deduction("outbound", 12345, 3)
    assert deduction.amount + deduction.refund == 12345
    assert deduction.amount == round(12345 * deduction.percent / 100)
    text = format_deduction("TR20260001", 12345, deduction)
    assert str(deduction.amount) in text and deduction.clause in text


def test_started_trip_is_refused():
    with pytest.raises(ValueError):
        compute_deduction("domestic", 1000, -1)


def test_days_until():
    assert days_until("2026-12-05", today=date(2026, 11, 23)) == 12
