"""Review inbox on a real SQLite tracker store written by Rasa's own SQLTrackerStore."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import List, Optional

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.training_data.loading import load_data
from ruamel.yaml import YAML

from trainer import check as check_data
from trainer import review


def user(text: str, intent: str, confidence: float, runner_up: Optional[str] = None) -> UserUttered:
    ranking = [{"name": intent, "confidence": confidence}]
    if runner_up:
        ranking.append({"name": runner_up, "confidence": 0.31})
    parse = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": ranking,
        "entities": [],
    }
    return UserUttered(text, intent=parse["intent"], parse_data=parse)


CONVERSATIONS = {
    # not understood: FallbackClassifier's nlu_fallback, the bot's fallback action
    "traveller-a": [
        BotUttered("您好！我是旅行客服小助手"),
        user("那个东西到底弄好了没有", "nlu_fallback", 0.45, "check_ticket"),
        ActionExecuted("action_fallback"),
        BotUttered("抱歉，我没太明白您的意思。"),
    ],
    # the same words again, other punctuation: one inbox entry seen twice
    "traveller-b": [
        user("那个东西到底弄好了没有！！", "nlu_fallback", 0.4, "check_ticket"),
        ActionExecuted("action_fallback"),
    ],
    # understood, but without confidence
    "traveller-c": [
        BotUttered("请提供您的订单号。"),
        user("我们团明早几点在哪儿上车", "query_itinerary", 0.52),
        ActionExecuted("verify_form"),
    ],
    # confident, but the traveller then asked for a human: the bot was no help
    "traveller-d": [
        user("叫你们经理出来，电话13912345678", "complain", 0.93),
        ActionExecuted("action_request_human"),
    ],
    # fine conversations: nothing to review
    "traveller-e": [
        user("你好", "greet", 0.99),
        ActionExecuted("utter_greet"),
        BotUttered("您好！"),
        user("/affirm", "affirm", 1.0),
        ActionExecuted("action_listen"),
    ],
}


async def fill(db: Path, conversations) -> None:
    store = SQLTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(db))
    for sender, events in conversations.items():
        tracker = DialogueStateTracker.from_events(sender, [ActionExecuted("action_listen"), *events])
        await store.save(tracker)


@pytest.fixture
async def tracker_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "tracker.db"
    conversations = dict(CONVERSATIONS)
    monkeypatch.setenv("TRACKER_DB", str(db))
    await fill(db, conversations)
    return db


def entries(inbox: Path) -> List[dict]:
    document = YAML(typ="safe").load(inbox.read_text(encoding="utf-8"))
    return [
        {"intent": e["intent"], "examples": [ln[2:] for ln in e["examples"].splitlines()]}
        for e in document["nlu"]
    ]


def test_export_collects_fallbacks_low_confidence_and_handoffs(
    project: Path, tracker_db: Path, capsys
) -> None:
    assert review.main(["--root", str(project), "export"]) == 0
    inbox = project / "review" / "inbox.yml"
    found = entries(inbox)
    by_text = {e["examples"][0]: e["intent"] for e in found}
    assert by_text == {
        "那个东西到底弄好了没有": "待标注_check_ticket",  # the model's guess behind nlu_fallback
        "我们团明早几点在哪儿上车": "待标注_query_itinerary",
        "叫你们经理出来，电话13800138000": "待标注_complain",  # phone replaced
    }
    text = inbox.read_text(encoding="utf-8")
    assert "13912345678" not in text
    # context and prediction as comments right above each entry
    assert re.search(
        r"# 原因：没听懂（兜底回复）、置信度低，共出现 2 次｜模型判断：check_ticket（置信度 0\.31）\n"
        r"# 机器人上一句：您好！我是旅行客服小助手",
        text,
    )
    assert re.search(
        r"# 原因：置信度低｜模型判断：query_itinerary（置信度 0\.52）\n# 机器人上一句：请提供您的订单号。",
        text,
    )
    assert "# 原因：之后转了人工｜模型判断：complain（置信度 0.93）" in text
    # a valid Rasa training-data file
    assert len(load_data(str(inbox)).training_examples) == 3
    assert "已导出 3 条" in capsys.readouterr().out


def test_export_skips_known_examples_and_old_messages(project: Path, tracker_db: Path) -> None:
    known = check_data.Project(project).nlu.examples[0]
    inbox = project / "review" / "inbox.yml"
    assert review.main(["--root", str(project), "export"]) == 0
    assert review.main(["--root", str(project), "export"]) == 1  # an unmerged inbox is never overwritten
    assert review.main(["--root", str(project), "export", "--force"]) == 0
    assert entries(inbox) == []  # nothing newer than the last export
    assert review.main(["--root", str(project), "export", "--force", "--all"]) == 0
    assert len(entries(inbox)) == 3
    assert known.text not in inbox.read_text(encoding="utf-8")


async def test_export_leaves_out_messages_already_in_the_training_data(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    known = check_data.Project(project).nlu.examples[0].text
    db = tmp_path / "other.db"
    monkeypatch.setenv("TRACKER_DB", str(db))
    await fill(
        db,
        {
            "t": [user(known, "nlu_fallback", 0.2, "greet"), ActionExecuted("action_fallback")],
            "u": [user("这个说法训练数据里肯定没有吧", "greet", 0.3)],
        },
    )
    assert review.main(["--root", str(project), "export"]) == 0
    assert [e["examples"][0] for e in entries(project / "review" / "inbox.yml")] == [
        "这个说法训练数据里肯定没有吧"
    ]


def annotate(inbox: Path, mapping: dict) -> None:
    text = inbox.read_text(encoding="utf-8")
    for old, new in mapping.items():
        text = text.replace(f"- intent: {old}\n", f"- intent: {new}\n")
    inbox.write_text(text, encoding="utf-8")


def test_merge_refuses_placeholders_and_unknown_intents(project: Path, tracker_db: Path, capsys) -> None:
    review.main(["--root", str(project), "export"])
    inbox = project / "review" / "inbox.yml"
    before = sorted(p.name for p in (project / "data/nlu").iterdir())

    annotate(inbox, {"待标注_query_itinerary": "query_itinerary"})
    assert review.main(["--root", str(project), "merge"]) == 1
    out = capsys.readouterr().out
    assert "没有合并任何内容" in out and "待标注_check_ticket" in out and "待标注_complain" in out

    annotate(inbox, {"待标注_check_ticket": "check_tiket", "待标注_complain": "complain"})  # a typo
    assert review.main(["--root", str(project), "merge"]) == 1
    assert "check_tiket" in capsys.readouterr().out
    assert sorted(p.name for p in (project / "data/nlu").iterdir()) == before
    assert inbox.exists()


def test_merge_adds_checked_examples_and_skips_duplicates(project: Path, tracker_db: Path, capsys) -> None:
    review.main(["--root", str(project), "export"])
    inbox = project / "review" / "inbox.yml"
    existing = check_data.Project(project).nlu.examples[0]
    annotate(
        inbox,
        {
            "待标注_check_ticket": "check_ticket",
            "待标注_query_itinerary": "query_itinerary",
            "待标注_complain": "忽略",
        },
    )
    # a trainer adds an example that the training data already has: skipped, not duplicated
    inbox.write_text(
        inbox.read_text(encoding="utf-8")
        + f"\n- intent: {existing.intent}\n  examples: |\n    - {existing.raw}\n",
        encoding="utf-8",
    )
    assert review.main(["--root", str(project), "merge"]) == 0
    day = dt.date.today().strftime("%Y%m%d")
    merged = project / "data" / "nlu" / f"review_{day}.yml"
    data = load_data(str(merged))
    assert sorted((m.get("text"), m.get("intent")) for m in data.training_examples) == [
        ("我们团明早几点在哪儿上车", "query_itinerary"),
        ("那个东西到底弄好了没有", "check_ticket"),
    ]
    assert not inbox.exists() and list((project / "review" / "merged").glob("inbox-*.yml"))
    assert "跳过 1 条重复" in capsys.readouterr().out
    # the merged file is ordinary training data for the checks
    texts = {ex.text for ex in check_data.Project(project).nlu.examples}
    assert "我们团明早几点在哪儿上车" in texts


def test_merge_accepts_a_new_intent_only_with_enough_examples(project: Path, tmp_path: Path, capsys) -> None:
    inbox = tmp_path / "annotated.yml"
    lines = ['version: "3.1"', "nlu:", "- intent: ask_weather", "  examples: |"]
    weather = [
        f"{city}明天会下雨吗"
        for city in ["北京", "上海", "广州", "深圳", "成都", "杭州", "西安", "重庆", "武汉"]
    ]
    inbox.write_text("\n".join(lines + [f"    - {w}" for w in weather]) + "\n", encoding="utf-8")
    assert review.main(["--root", str(project), "merge", "--inbox", str(inbox)]) == 1
    assert "至少要 10 条例句（现在 9 条）" in capsys.readouterr().out

    inbox.write_text(inbox.read_text(encoding="utf-8") + "    - 南京明天会下雨吗\n", encoding="utf-8")
    assert review.main(["--root", str(project), "merge", "--inbox", str(inbox)]) == 0
    assert "ask_weather 是新意图" in capsys.readouterr().out
    counts = {}
    for ex in check_data.Project(project).nlu.examples:
        counts[ex.intent] = counts.get(ex.intent, 0) + 1
    assert counts["ask_weather"] == 10


@pytest.mark.parametrize(
    "inbox, where",
    [
        (
            'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - 你好\n  - intent: bye\n',
            "inbox.yml 第 6 行YAML 格式有误",
        ),
        (
            'version: "3.1"\nnlu:\n- intent: greet\n  examples:\n  - 你好\n',
            "inbox.yml 第 3 行：examples 后面要写「|」",
        ),
    ],
)
def test_merge_names_the_line_of_a_broken_inbox(tmp_path: Path, inbox: str, where: str) -> None:
    (tmp_path / "review").mkdir()
    (tmp_path / "review" / "inbox.yml").write_text(inbox, encoding="utf-8")
    with pytest.raises(SystemExit) as stopped:
        review.main(["--root", str(tmp_path), "merge"])
    assert where in str(stopped.value)
