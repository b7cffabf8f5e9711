from __future__ import annotations

import logging

import pytest

from app.core.servicekit import MaskingFilter
from app.services.masking import (
    mask_evidence,
    mask_identifier,
    mask_name,
    mask_phone,
    mask_summary,
    mask_text,
)


@pytest.mark.parametrize(
    ("phone", "masked"),
    [("13812345678", "138****5678"), ("19900001111", "199****1111"), ("12345", "*2345"), (None, None)],
)
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(
    ("name", "masked"), [("张伟", "张*"), ("欧阳娜娜", "欧**娜"), ("李", "李*"), ("Emma", "E**a")]
)
def test_mask_name(name, masked):
    assert mask_name(name) == masked


def test_mask_text_only_touches_mobiles():
    assert (
        mask_text("回电 13812345678，订单 TR20260001，工单 C20261123001")
        == "回电 138****5678，订单 TR20260001，工单 C20261123001"
    )


def test_log_filter_masks_arguments():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "call %s", ("13812345678",), None)
    assert MaskingFilter(mask_text).filter(record)
    assert record.getMessage() == "call 138****5678"
    # The API's mask, not only servicekit's numbers: a name after a cue word too.
    named = logging.LogRecord("x", logging.INFO, __file__, 1, "traveller said %s", ("我叫欧阳娜娜",), None)
    MaskingFilter(mask_text).filter(named)
    assert named.getMessage() == "traveller said 我叫欧***"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("我叫张伟，电话+86 139-1234-5678", "我叫张*，电话139****5678"),
        ("身份证110101199003071234，护照E12345678", "身份证**************1234，护照E******78"),
        ("座机 010-12345678，卡号 6222 0212 3456 7890", "座机 010-****5678，卡号 ************7890"),
        ("邮箱 zhangwei@qq.com", "邮箱 z***@qq.com"),
        ("姓名：欧阳娜娜 my name is Emma Li", "姓名：欧*** my name is E*** **"),
        (
            "订单 TR20260001，工单 C20261123001，航班 MU5735",
            "订单 TR20260001，工单 C20261123001，航班 MU5735",
        ),
    ],
)
def test_mask_text_masks_personal_data_in_free_text(text, masked):
    assert mask_text(text) == masked


def test_mask_text_masks_the_records_own_names_and_numbers_wherever_they_occur():
    text = "订单是李娜订的，李娜的电话 0871 6543 2100，王五陪同"
    assert (
        mask_text(text, known=["李娜", "087165432100", None, ""])
        == "订单是李*订的，李*的电话 ********2100，王五陪同"
    )


def test_identifiers_evidence_and_summaries():
    assert mask_identifier("wechat:oUpF8uMuAJO_M2pxb1Q9zNjWeS6o") == "we****eS6o"
    assert mask_evidence("https://example.com/u/13812345678/photo1.jpg") == "https://example.com/****"
    assert mask_evidence("media-8f2c91d0aa") == "me****d0aa"
    summary = {
        "complainant_name": "张伟",
        "phone": "13812345678",
        "verified_booking": True,
        "last_message": "我是张伟，身份证110101199003071234",
        "complaint_evidence": ["https://x.cn/a.jpg"],
    }
    assert mask_summary(summary) == {
        "complainant_name": "张*",
        "phone": "*******5678",
        "verified_booking": True,
        "last_message": "我是张*，身份证**************1234",
        "complaint_evidence": ["https://x.cn/****"],
    }


def test_conversation_ids_show_the_channel_a_short_head_and_a_stable_digest():
    from app.services.masking import mask_conversation_id

    openid = "oAbcDEF1234567890xyzQRSTuv9f"
    shown = mask_conversation_id(openid, "wechat")
    assert shown == mask_conversation_id(openid, "wechat")  # stable
    assert shown.startswith("wx:oAbc…") and openid[4:] not in shown and openid[-4:] not in shown
    assert (
        mask_conversation_id("oAbcDEF1234567890xyzQRSTzz01", "wechat") != shown
    )  # same app prefix, told apart
    assert mask_conversation_id("5f1c0a9e2b7d4c3a8e6f1b2d3c4a5e6f", "socketio").startswith("web:5f1c…")
    # Short ids (REST senders such as a name) show no characters of their own.
    assert mask_conversation_id("alice", "rest").startswith("rest:…") and "ali" not in mask_conversation_id(
        "alice", "rest"
    )
    assert mask_conversation_id(None, "rest") is None
