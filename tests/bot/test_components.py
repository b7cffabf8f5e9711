"""The normaliser and tokenizer, tested like library code on Chinese sentences."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.components.normaliser import ChineseNormaliser, normalise
from bot.components.tokenizer import ChineseJiebaTokenizer


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("我想查詢行程", "我想查询行程"),  # traditional -> simplified
        ("飛機延誤了怎麼辦", "飞机延误了怎么办"),
        ("ＴＲ２０２６０００１", "TR20260001"),  # full-width -> half-width
        ("我 要 退 款", "我要退款"),  # spaces inside Chinese removed
        ("  我想退团 please  ", "我想退团please"),
        ("check in 几点", "check in几点"),  # a space between Latin words is kept
        ("退款，谢谢！", "退款,谢谢!"),
        # written Cantonese -> Mandarin, one character each
        ("東京嗰間酒店叫咩名", "东京那间酒店叫啥名"),
        ("我哋嘅導遊冇嚟", "我们的导游没来"),
        ("佢喺酒店等咗好耐", "他在酒店等了好耐"),
        ("你係唔係機器人", "你是不是机器人"),
        ("唔該晒", "谢谢晒"),  # thanks, not "should not"
        ("機器人聽唔明 我要同人講", "机器人听不懂我要跟人讲"),
        ("點解冇人覆我", "为何没人覆我"),
        ("第二日住邊間酒店", "第二日住哪间酒店"),
        ("導遊喺邊度等", "导游在哪里等"),
        ("要畀幾多錢", "要给多少钱"),
        ("旁边的酒店", "旁边的酒店"),  # 边 alone is Mandarin
    ],
)
def test_normalise(raw, expected):
    assert normalise(raw)[0] == expected


def test_entity_offsets_follow_the_normalised_text():
    message = Message(
        data={
            TEXT: "我 的 订单 TR20260001",
            "entities": [{"start": 7, "end": 17, "value": "TR20260001", "entity": "booking_ref"}],
        }
    )
    ChineseNormaliser().process([message])
    entity = message.get("entities")[0]
    assert message.get(TEXT)[entity["start"] : entity["end"]] == "TR20260001"
    assert entity["value"] == "TR20260001"


def test_synonym_values_are_kept():
    message = Message(
        data={
            TEXT: "住 哪个 酒店",
            "entities": [{"start": 5, "end": 7, "value": "hotel", "entity": "itinerary_item"}],
        }
    )
    ChineseNormaliser().process([message])
    entity = message.get("entities")[0]
    assert message.get(TEXT)[entity["start"] : entity["end"]] == "酒店"
    assert entity["value"] == "hotel"


@pytest.mark.parametrize(
    "text",
    ["我想退团 please", "my flight 几点起飞", "hello world", "😀 😀", " "],
)
def test_tokenizer_never_emits_whitespace_tokens(text):
    tokenizer = ChineseJiebaTokenizer(ChineseJiebaTokenizer.get_default_config(), None, None)
    tokens = tokenizer.tokenize(Message(data={TEXT: text}), TEXT)
    assert tokens, "Rasa needs at least one token"
    assert all(t.text.strip() for t in tokens) or text.strip() == ""
    for token in tokens:
        assert text[token.start : token.end] == token.text


@pytest.mark.parametrize(
    "text, unknown",
    [
        ("asdfghjkl qwerty", True),
        ("😀😀😀", True),
        ("", True),
        ("我想退款", False),
        ("退款 please", False),
        # fillers are known words, but say nothing: gibberish around them is still unknown
        ("啊啊啊啊 zxcvb", True),
        ("嗯 asdf 吧", True),
        # a message of fillers alone is left to the model (嗯 is often a yes)
        ("嗯嗯", False),
        ("退款吧", False),
    ],
)
def test_guard_sends_unknown_words_to_fallback(text, unknown):
    from bot.components.guard import UnknownInputGuard

    tokenizer = ChineseJiebaTokenizer(ChineseJiebaTokenizer.get_default_config(), None, None)
    guard = UnknownInputGuard(None, None, vocabulary={"我", "想", "退款", "行程", "啊", "嗯", "吧"})
    message = Message(data={TEXT: text, "intent": {"name": "thank", "confidence": 0.85}})
    tokenizer.process([message])
    guard.process([message])
    assert (message.get("intent")["name"] == "nlu_fallback") is unknown


def test_guard_keeps_messages_with_entities():
    from bot.components.guard import UnknownInputGuard

    tokenizer = ChineseJiebaTokenizer(ChineseJiebaTokenizer.get_default_config(), None, None)
    guard = UnknownInputGuard(None, None, vocabulary={"我"})
    message = Message(
        data={
            TEXT: "TR20260001",
            "intent": {"name": "inform", "confidence": 0.9},
            "entities": [{"entity": "booking_ref", "value": "TR20260001", "start": 0, "end": 10}],
        }
    )
    tokenizer.process([message])
    guard.process([message])
    assert message.get("intent")["name"] == "inform"


def test_a_huge_message_is_cut_before_it_is_converted():
    # OpenCC costs about 4 s per MB: converting first and cutting afterwards blocked every
    # conversation of the process for seconds.
    import time

    from bot.components.normaliser import MAX_NLU_CHARS

    huge = Message(data={"text": "我們的導遊 態度很差。" * 100_000})  # 1.1 million characters
    started = time.perf_counter()
    ChineseNormaliser().process([huge])
    assert time.perf_counter() - started < 0.5
    assert len(huge.get("text")) == MAX_NLU_CHARS
    assert huge.get("text").startswith("我们的导游态度很差。")
