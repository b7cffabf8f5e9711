"""One test per data check: plant the defect in a copy of the project, expect the finding.

The copy carries whatever the real data holds today, so each test compares the
findings before and after planting and looks only at what the defect added.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from tests.trainer.conftest import ROOT, add_domain_intent, add_domain_response, append
from trainer import check as check_data

PLANTED = "data/nlu/planted.yml"


def nlu_file(root: Path, blocks: Dict[str, List[str]], name: str = PLANTED) -> Dict[Tuple[str, str], int]:
    """Writes an NLU file; returns the line of every (intent, example)."""
    lines = ['version: "3.1"', "nlu:"]
    where = {}
    for intent, examples in blocks.items():
        lines += [f"- intent: {intent}", "  examples: |"]
        for example in examples:
            lines.append(f"    - {example}")
            where[(intent, example)] = len(lines)
    (root / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return where


def new_findings(before, after):
    seen = {(f.code, f.message) for f in before}
    return [f for f in after if (f.code, f.message) not in seen]


def weather_examples(n: int) -> List[str]:
    places = [
        "北京",
        "上海",
        "三亚",
        "丽江",
        "东京",
        "曼谷",
        "巴黎",
        "拉萨",
        "桂林",
        "大理",
        "首尔",
        "成都",
        "西安",
        "哈尔滨",
        "厦门",
        "香港",
        "新加坡",
        "悉尼",
        "伦敦",
        "杭州",
        "青岛",
        "昆明",
        "大阪",
        "清迈",
        "济州岛",
        "罗马",
        "九寨沟",
        "张家界",
        "黄山",
        "乌鲁木齐",
    ]
    return [
        f"{place}这几天天气怎么样" if i % 2 else f"去{place}要不要带伞，会下雨吗"
        for i, place in enumerate(places[:n])
    ]


def test_too_few_examples_is_an_error_below_10_and_a_warning_below_25(project: Path, findings) -> None:
    before = findings(project)
    add_domain_intent(project, "ask_weather")
    where = nlu_file(project, {"ask_weather": weather_examples(6)})
    found = new_findings(before, findings(project))
    errors = [f for f in found if f.code == "too_few_examples"]
    assert len(errors) == 1 and errors[0].level == "error"
    assert errors[0].file == PLANTED and errors[0].line == min(where.values()) - 2  # the "- intent:" line
    assert "ask_weather" in errors[0].message and "6" in errors[0].message

    nlu_file(project, {"ask_weather": weather_examples(15)})
    found = new_findings(before, findings(project))
    assert not [f for f in found if f.code == "too_few_examples"]
    warnings = [f for f in found if f.code == "few_examples"]
    assert len(warnings) == 1 and warnings[0].level == "warning"

    nlu_file(project, {"ask_weather": weather_examples(30)})
    assert not [
        f for f in new_findings(before, findings(project)) if f.code in ("few_examples", "too_few_examples")
    ]


def test_same_example_under_two_intents(project: Path, findings) -> None:
    before = findings(project)
    where = nlu_file(project, {"greet": ["这是一条放错地方的例句"], "goodbye": ["这是一条放错地方的例句"]})
    found = [f for f in new_findings(before, findings(project)) if f.code == "duplicate_across_intents"]
    assert len(found) == 1 and found[0].level == "error"
    assert found[0].file == PLANTED and found[0].line == where[("greet", "这是一条放错地方的例句")]
    assert f"{PLANTED}:{where[('goodbye', '这是一条放错地方的例句')]}" in found[0].message


def test_identical_after_normalising_across_intents(project: Path, findings) -> None:
    before = findings(project)
    nlu_file(project, {"greet": ["您好，請問客服在嗎？"], "goodbye": ["您好 请问客服在吗"]})
    found = [f for f in new_findings(before, findings(project)) if f.code == "same_after_normalising"]
    assert len(found) == 1 and found[0].level == "error"
    assert "greet" in found[0].message and "goodbye" in found[0].message


def test_near_duplicates_across_intents_warn_but_not_within_one_intent(project: Path, findings) -> None:
    before = findings(project)
    nlu_file(
        project, {"greet": ["请问你们公司的客服电话是多少"], "goodbye": ["请问你们公司的客服电话是多少呢"]}
    )
    found = [f for f in new_findings(before, findings(project)) if f.code == "near_duplicate"]
    assert len(found) == 1 and found[0].level == "warning"
    assert "0.9" in found[0].message  # 13 of 14 bigrams shared

    nlu_file(project, {"greet": ["请问你们公司的客服电话是多少", "请问你们公司的客服电话是多少呢"]})
    assert not [f for f in new_findings(before, findings(project)) if f.code == "near_duplicate"]


def test_domain_intent_without_examples_or_rule(project: Path, findings) -> None:
    before = findings(project)
    add_domain_intent(project, "ask_weather")
    found = new_findings(before, findings(project))
    codes = {f.code: f for f in found}
    assert codes["intent_without_examples"].level == "error"
    assert codes["intent_without_examples"].file == "domain.yml"
    assert codes["intent_without_examples"].line == 4  # inserted right under "intents:"
    assert codes["intent_unused"].level == "warning"

    nlu_file(project, {"ask_weather": weather_examples(30)})
    found = new_findings(before, findings(project))
    assert "intent_without_examples" not in {f.code for f in found}
    assert "intent_unused" in {f.code for f in found}
    append(
        project / "data/rules/weather.yml",
        'version: "3.1"\nrules:\n  - rule: weather\n    steps:\n      - intent: ask_weather\n'
        "      - action: utter_greet\n",
    )
    assert not [f for f in new_findings(before, findings(project)) if "ask_weather" in f.message]


def test_examples_of_an_intent_missing_from_the_domain(project: Path, findings) -> None:
    before = findings(project)
    nlu_file(project, {"ask_weather": weather_examples(30)})
    found = [f for f in new_findings(before, findings(project)) if f.code == "intent_not_in_domain"]
    assert len(found) == 1 and found[0].file == PLANTED and found[0].line == 3


def test_rule_names_a_response_that_does_not_exist(project: Path, findings) -> None:
    before = findings(project)
    line = append(
        project / "data/rules/weather.yml",
        'version: "3.1"\nrules:\n  - rule: weather\n    steps:\n      - intent: greet\n'
        "      - action: utter_weather\n",
    )
    found = [f for f in new_findings(before, findings(project)) if f.code == "missing_response"]
    assert len(found) == 1 and found[0].level == "error"
    assert found[0].file == "data/rules/weather.yml" and found[0].line == line + 5
    assert "utter_weather" in found[0].message

    add_domain_response(project, "utter_weather", "天气请以当地气象台预报为准。")
    assert not [f for f in new_findings(before, findings(project)) if f.code == "missing_response"]


def test_form_slot_without_a_question(project: Path, findings) -> None:
    before = findings(project)
    domain = project / "domain.yml"
    domain.write_text(
        domain.read_text(encoding="utf-8").replace(
            "forms:\n", "forms:\n  weather_form:\n    required_slots:\n      - travel_city\n", 1
        ),
        encoding="utf-8",
    )
    found = [f for f in new_findings(before, findings(project)) if f.code == "missing_response"]
    assert len(found) == 1 and "utter_ask_travel_city" in found[0].message


def test_policy_key_without_answer_and_answer_without_key(project: Path, findings) -> None:
    before = findings(project)
    nlu_file(
        project,
        {
            "policy/pets": [
                f"能带{pet}一起出团吗"
                for pet in [
                    "猫",
                    "狗",
                    "宠物",
                    "小狗",
                    "猫咪",
                    "兔子",
                    "鹦鹉",
                    "仓鼠",
                    "狗狗",
                    "乌龟",
                    "金鱼",
                ]
            ]
        },
    )
    found = [f for f in new_findings(before, findings(project)) if f.code == "policy_without_answer"]
    assert len(found) == 1 and found[0].level == "error" and "utter_policy/pets" in found[0].message

    line = append(
        project / PLANTED,
        "responses:\n  utter_policy/pets:\n  - text: 宠物不能随团出行。\n"
        "  utter_policy/lost_item:\n  - text: 失物请联系领队。\n",
    )
    found = new_findings(before, findings(project))
    assert not [f for f in found if f.code == "policy_without_answer"]
    orphans = [f for f in found if f.code == "answer_without_policy"]
    assert len(orphans) == 1 and "utter_policy/lost_item" in orphans[0].message
    assert orphans[0].file == PLANTED and orphans[0].line == line + 3


@pytest.mark.parametrize("line", ["退团\t2000 v", "退团 2000 V", "# 旅游词", "退团  2000", "自费 项目 500 n"])
def test_malformed_dictionary_line(project: Path, findings, line: str) -> None:
    before = findings(project)
    number = append(project / "data/dict/travel.txt", line + "\n")
    found = [f for f in new_findings(before, findings(project)) if f.code == "dictionary_malformed"]
    assert len(found) == 1 and found[0].level == "error"
    assert found[0].file == "data/dict/travel.txt" and found[0].line == number


@pytest.mark.parametrize(
    "line",
    ["测试专用词甲", "测试专用词乙 300", "测试专用词丙 300 n", "测试专用词丁 n", "Hong_Kong_test 20 ns"],
)
def test_wellformed_dictionary_lines_pass(project: Path, findings, line: str) -> None:
    before = findings(project)
    append(project / "data/dict/travel.txt", line + "\n")
    assert not [f for f in new_findings(before, findings(project)) if f.code.startswith("dictionary")]


def test_holdout_example_also_in_training(project: Path, findings) -> None:
    before = findings(project)
    line = append(
        project / "tests/nlu_holdout.yml", "- intent: greet\n  examples: |\n    - 請問今天客服幾點下班？\n"
    )
    nlu_file(project, {"greet": ["请问今天客服几点下班"]})
    found = [f for f in new_findings(before, findings(project)) if f.code == "holdout_in_training"]
    assert len(found) == 1 and found[0].level == "error"
    assert found[0].file == "tests/nlu_holdout.yml" and found[0].line == line + 2
    assert f"{PLANTED}:5" in found[0].message


@pytest.mark.parametrize(
    "dev_set, label", [("nlu_dev.yml", "开发集"), ("nlu_dev2.yml", "开发集二"), ("nlu_dev3.yml", "开发集三")]
)
def test_development_set_example_also_in_training(project: Path, findings, dev_set, label) -> None:
    before = findings(project)
    line = append(project / "tests" / dev_set, "- intent: greet\n  examples: |\n    - 客服幾點下班呀\n")
    nlu_file(project, {"greet": ["客服几点下班呀"]})
    found = [f for f in new_findings(before, findings(project)) if f.code == "holdout_in_training"]
    assert len(found) == 1 and found[0].file == f"tests/{dev_set}" and found[0].line == line + 2
    assert label in found[0].message


def test_cancellation_example_without_a_cancellation_word(project: Path, findings) -> None:
    before = findings(project)
    nlu_file(project, {"request_cancellation": ["這個行程我放棄了", "这个团我不想去了"]})
    found = [f for f in new_findings(before, findings(project)) if f.code == "example_without_cue"]
    assert len(found) == 1 and found[0].level == "warning"
    assert "這個行程我放棄了" in found[0].message and found[0].file == PLANTED


def test_annotated_entity_missing_from_domain(project: Path, findings) -> None:
    before = findings(project)
    nlu_file(project, {"inform": ["我住在[希尔顿酒店](hotel_name)"]})
    found = [f for f in new_findings(before, findings(project)) if f.code == "entity_not_in_domain"]
    assert len(found) == 1 and "hotel_name" in found[0].message


def minimal_project(root: Path) -> Path:
    """A tiny clean project: two intents with 25 distinct examples and a rule each."""
    (root / "data/nlu").mkdir(parents=True)
    (root / "data/rules").mkdir(parents=True)
    (root / "domain.yml").write_text(
        'version: "3.1"\nintents:\n  - greet\n  - goodbye\nresponses:\n'
        '  utter_greet:\n    - text: "您好"\n  utter_goodbye:\n    - text: "再见"\n',
        encoding="utf-8",
    )
    hello = [
        f"{a}{b}"
        for a in ["你好", "您好", "哈喽", "嗨", "早上好"]
        for b in ["", "呀", "，在吗", "客服", "小助手"]
    ]
    bye = [
        f"{a}{b}"
        for a in ["再见", "拜拜", "回头见", "下次聊", "先这样"]
        for b in ["", "啦", "，谢谢", "了哈", "吧"]
    ]
    nlu_file(root, {"greet": hello, "goodbye": bye}, name="data/nlu/chitchat.yml")
    (root / "data/rules/chitchat.yml").write_text(
        'version: "3.1"\nrules:\n- rule: hi\n  steps:\n  - intent: greet\n  - action: utter_greet\n'
        "- rule: bye\n  steps:\n  - intent: goodbye\n  - action: utter_goodbye\n",
        encoding="utf-8",
    )
    return root


def run_cli(root: Path) -> subprocess.CompletedProcess:
    # `make check` runs it like this, from the repository root.
    return subprocess.run(
        [sys.executable, "-m", "scripts.check_data", "--no-rasa", "--root", str(root)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )


def test_exit_code_is_0_for_warnings_and_1_for_errors(tmp_path: Path) -> None:
    root = minimal_project(tmp_path)
    clean = run_cli(root)
    assert clean.returncode == 0, clean.stdout
    assert "0 个错误，0 个警告" in clean.stdout

    append(root / "data/dict/words.txt", "地接社 300 n\n地接社 100\n")  # duplicate word: a warning
    warned = run_cli(root)
    assert warned.returncode == 0 and "[警告] data/dict/words.txt:2" in warned.stdout

    append(
        root / "data/rules/chitchat.yml",
        "- rule: oops\n  steps:\n  - intent: greet\n  - action: utter_nope\n",
    )
    failed = run_cli(root)
    assert failed.returncode == 1
    assert "[错误] data/rules/chitchat.yml:14" in failed.stdout and "utter_nope" in failed.stdout


def test_rasa_validate_problems_are_explained_in_chinese(tmp_path: Path) -> None:
    root = minimal_project(tmp_path)
    (root / "config.yml").write_text("recipe: default.v1\nlanguage: zh\nassistant_id: t\n", encoding="utf-8")
    append(
        root / "data/rules/chitchat.yml",
        "- rule: oops\n  steps:\n  - intent: greet\n  - action: utter_nope\n",
    )
    found = check_data.run_rasa_validate(root)
    missing = [f for f in found if f.code == "rasa_missing_response"]
    assert missing and missing[0].level == "error" and "utter_nope" in missing[0].message
    assert "domain.yml" in missing[0].message  # the Chinese explanation, not Rasa's English


def test_one_phrase_mapped_to_two_synonym_values(project: Path, findings) -> None:
    before = findings(project)
    line = append(
        project / PLANTED,
        'version: "3.1"\nnlu:\n- synonym: meeting\n  examples: |\n    - 接头地点\n'
        "- synonym: hotel\n  examples: |\n    - 接頭地點\n",
    )
    found = [f for f in new_findings(before, findings(project)) if f.code == "synonym_conflict"]
    assert len(found) == 1 and found[0].level == "error"
    assert found[0].file == PLANTED and found[0].line == line + 7


def test_a_file_that_is_not_yaml_is_named_with_its_line(project: Path, findings) -> None:
    line = append(
        project / PLANTED,
        'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - 你好呀\n  - intent: goodbye\n',
    )
    found = [f for f in findings(project) if f.code == "yaml_invalid"]
    assert len(found) == 1 and found[0].level == "error"
    assert found[0].file == PLANTED and found[0].line == line + 5


def test_rasa_story_conflicts_come_from_the_validator_in_process(tmp_path: Path, monkeypatch) -> None:
    root = minimal_project(tmp_path)
    (root / "config.yml").write_text("recipe: default.v1\nlanguage: zh\nassistant_id: t\n", encoding="utf-8")
    (root / "data/stories").mkdir()
    (root / "data/stories/conflict.yml").write_text(
        'version: "3.1"\nstories:\n- story: one\n  steps:\n  - intent: greet\n  - action: utter_greet\n'
        "- story: two\n  steps:\n  - intent: greet\n  - action: utter_goodbye\n",
        encoding="utf-8",
    )

    def no_subprocess(*args, **kwargs):
        raise AssertionError("rasa data validate must not run as a subprocess")

    monkeypatch.setattr(subprocess, "run", no_subprocess)
    monkeypatch.setattr(subprocess, "Popen", no_subprocess)
    found = check_data.run_rasa_validate(root)
    conflicts = [f for f in found if f.code == "rasa_story_conflict"]
    assert len(conflicts) == 1 and conflicts[0].level == "error"
    assert (
        "规则/故事之间有冲突" in conflicts[0].message and "utter_goodbye、utter_greet" in conflicts[0].message
    )
