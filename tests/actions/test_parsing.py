from __future__ import annotations

import pytest

from actions.utils.parsing import (
    mask_phone,
    parse_booking_ref,
    parse_phone,
    parse_phone_last4,
    parse_ticket_no,
)
from actions.utils.text import parse_day_number


@pytest.mark.parametrize(
    "text, expected",
    [
        ("TR20260001", "TR20260001"),
        ("订单号是tr20260001谢谢", "TR20260001"),
        ("TR 2026-0001", "TR20260001"),
        ("ＴＲ２０２６０００１", "TR20260001"),
        ("TR2026001", None),  # seven digits
        ("TR202600011", None),  # nine digits
        ("我没有订单号", None),
        ("", None),
    ],
)
def test_booking_ref(text, expected):
    assert parse_booking_ref(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("13812345678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("幺三八一二三四五六七八", "13812345678"),
        ("1381234567", None),
        ("12812345678", None),  # no mobile starts with 12
        ("电话是 23812345678", None),
    ],
)
def test_phone(text, expected):
    assert parse_phone(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("5678", "5678"),
        ("尾号五六七八", "5678"),
        ("13812345678", "5678"),
        ("56789", None),
        ("TR20260001", None),
        ("12 34", "1234"),
    ],
)
def test_phone_last4(text, expected):
    assert parse_phone_last4(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [("C20261120001", "C20261120001"), ("单号c20261120001", "C20261120001"), ("C2026112", None)],
)
def test_ticket_no(text, expected):
    assert parse_ticket_no(text) == expected


@pytest.mark.parametrize(
    "text, expected", [("第3天", 3), ("第三天", 3), ("day 2", 2), ("第十一天", 11), ("明天", None)]
)
def test_day_number(text, expected):
    assert parse_day_number(text) == expected


def test_mask_phone():
    assert mask_phone("13812345678") == "138****5678"
    assert "1234" not in mask_phone("13812345678")[3:7]
