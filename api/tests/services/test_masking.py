from __future__ import annotations

import logging

import pytest

from app.services.masking import PersonalDataFilter, mask_name, mask_phone, mask_text


@pytest.mark.parametrize(("phone", "masked"), [("13812345678", "138****5678"), ("19900001111", "199****1111"), ("12345", "*2345"), (None, None)])
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(("name", "masked"), [("张伟", "张*"), ("欧阳娜娜", "欧**娜"), ("李", "李*"), ("Emma", "E**a")])
def test_mask_name(name, masked):
    assert mask_name(name) == masked


def test_mask_text_only_touches_mobiles():
    assert mask_text("回电 13812345678，订单 TR20260001，工单 C20261123001") == "回电 138****5678，订单 TR20260001，工单 C20261123001"


def test_log_filter_masks_arguments():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "call %s", ("13812345678",), None)
    assert PersonalDataFilter().filter(record)
    assert record.getMessage() == "call 138****5678"
