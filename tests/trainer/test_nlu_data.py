"""The one NLU loader of the trainers' tools: file and line of every example (ruamel round-trip)."""

from __future__ import annotations

from pathlib import Path

import pytest

from trainer.nlu_data import NluYamlError, load_nlu_file
from trainer.text import normalise


def test_every_example_synonym_and_response_keeps_its_line(tmp_path: Path) -> None:
    path = tmp_path / "nlu.yml"
    path.write_text(
        'version: "3.1"\n'  # 1
        "nlu:\n"  # 2
        "- intent: greet  # 打招呼\n"  # 3
        "  examples: |  # 例句\n"  # 4
        "    - 你好\n"  # 5
        "\n"  # 6
        "    - 我的订单是[TR20260001](booking_ref)\n"  # 7
        '- intent: "policy/refund"\n'  # 8
        "  examples: |-\n"  # 9
        "    - 退款怎么算\n"  # 10
        "- regex: booking_ref\n"  # 11
        "  examples: |\n"  # 12
        "    - TR\\d{8}\n"  # 13
        "- synonym: hotel\n"  # 14
        "  examples: |\n"  # 15
        "    - 住的地方\n"  # 16
        "responses:\n"  # 17
        "  utter_policy/refund:\n"  # 18
        "  - text: 按出发前天数扣费。\n",  # 19
        encoding="utf-8",
    )
    data = load_nlu_file(path, "nlu.yml")
    assert [(e.intent, e.text, e.line, e.entities) for e in data.examples] == [
        ("greet", "你好", 5, []),
        ("greet", "我的订单是TR20260001", 7, ["booking_ref"]),
        ("policy/refund", "退款怎么算", 10, []),
    ]
    assert data.intent_lines == {"greet": ("nlu.yml", 3), "policy/refund": ("nlu.yml", 8)}
    assert [(s.intent, s.text, s.line) for s in data.synonyms] == [("hotel", "住的地方", 16)]
    assert data.responses == {"utter_policy/refund": ("nlu.yml", 18)}


def test_broken_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yml"
    path.write_text(
        'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - 你好\n  - intent: bye\n',
        encoding="utf-8",
    )
    with pytest.raises(NluYamlError) as raised:
        load_nlu_file(path, "data/nlu/broken.yml")
    assert raised.value.file == "data/nlu/broken.yml" and raised.value.line == 6


@pytest.mark.parametrize("a, b", [("您好，請問客服在嗎？", "您好 请问客服在吗"), ("ＡＢＣ１２３", "abc123")])
def test_normalise_ignores_script_width_case_and_punctuation(a: str, b: str) -> None:
    assert normalise(a) == normalise(b)
