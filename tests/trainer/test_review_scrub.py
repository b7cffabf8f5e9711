"""Review exports and merges scrub travellers' names and ID/passport numbers as well as phone
numbers before anything reaches review/inbox.yml or data/nlu (issue 14 item 9)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from tests.trainer.test_review import user
from trainer import review

PERSONAL = [
    "周杰伦",
    "欧阳娜娜",
    "李雪",
    "赵",
    "110101199003071234",
    "E98765432",
    "13912345678",
    "H123456789",
]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("我叫张伟想投诉导游", "我叫王明想投诉导游"),
        ("姓名：欧阳娜娜，电话 139-1234-5678", "姓名：王明，电话 13800138000"),
        ("联系人李雪，身份证110101199003071234", "联系人王明，身份证11010519491231002X"),
        ("护照E98765432丢了，回乡证H123456789也丢了", "护照E12345678丢了，回乡证E12345678也丢了"),
        ("我姓赵，订单TR20260001", "我姓王，订单TR20260001"),
        ("我叫[李娜](person_name)", "我叫[王明](person_name)"),
        ("导游没来接我们，怎么办", "导游没来接我们，怎么办"),
    ],
)
def test_scrub_replaces_cued_names_and_numbers(text: str, expected: str) -> None:
    assert review.scrub(text) == expected


def test_scrub_replaces_known_names_anywhere() -> None:
    assert review.scrub("周杰伦的房间没热水，周杰伦很生气", {"周杰伦"}) == "王明的房间没热水，王明很生气"


@pytest.fixture
def bookings_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The ticketing API's bookings table, as `make review` reads it through DATABASE_URL."""
    path = tmp_path / "tickets.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE bookings (id INTEGER PRIMARY KEY, ref TEXT, traveller_name TEXT)")
    connection.execute("INSERT INTO bookings (ref, traveller_name) VALUES ('TR20269999', '欧阳娜娜')")
    connection.commit()
    connection.close()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    return path


@pytest.fixture
async def tracker_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bookings_db: Path) -> Path:
    db = tmp_path / "tracker.db"
    monkeypatch.setenv("TRACKER_DB", str(db))
    store = SQLTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(db))
    conversations = {
        # the complaint form took the name; later the traveller uses it without a cue word
        "t-name": [
            user("我要投诉", "complain", 0.95),
            SlotSet("complainant_name", "周杰伦"),
            BotUttered("好的周杰伦，请描述一下经过"),
            user("周杰伦住的房间一直没热水", "nlu_fallback", 0.3, "complain"),
            ActionExecuted("action_fallback"),
        ],
        # the booking holder's name, from the booking the conversation named
        "t-holder": [
            SlotSet("booking_ref", "TR20269999"),
            user("欧阳娜娜订的团怎么没人接机", "query_itinerary", 0.41),
        ],
        # cue words and numbers
        "t-cue": [
            user("联系人李雪，身份证110101199003071234，护照E98765432，电话13912345678", "inform", 0.35)
        ],
    }
    for sender, events in conversations.items():
        await store.save(DialogueStateTracker.from_events(sender, [ActionExecuted("action_listen"), *events]))
    return db


def test_export_scrubs_names_and_numbers(project: Path, tracker_db: Path) -> None:
    assert review.main(["--root", str(project), "export"]) == 0
    text = (project / "review" / "inbox.yml").read_text(encoding="utf-8")
    for item in PERSONAL:
        if item != "赵":
            assert item not in text, item
    assert "王明住的房间一直没热水" in text
    assert "王明订的团怎么没人接机" in text
    assert "联系人王明，身份证11010519491231002X，护照E12345678，电话13800138000" in text
    assert "# 机器人上一句：好的王明，请描述一下经过" in text


def test_merge_scrubs_what_a_trainer_or_an_old_inbox_brings(project: Path, tracker_db: Path) -> None:
    inbox = project / "review" / "old-inbox.yml"
    inbox.parent.mkdir(parents=True, exist_ok=True)
    inbox.write_text(
        'version: "3.1"\nnlu:\n- intent: complain\n  examples: |\n'
        "    - 我叫赵敏敏，护照E98765432在酒店被偷了\n"
        "    - 周杰伦的行李箱被导游弄坏了\n"
        "    - 我姓赵，身份证110101199003071234，订单被取消了\n",
        encoding="utf-8",
    )
    assert review.main(["--root", str(project), "merge", "--inbox", str(inbox)]) == 0
    merged = "".join(p.read_text(encoding="utf-8") for p in (project / "data" / "nlu").glob("review_*.yml"))
    for item in ["赵敏敏", "E98765432", "周杰伦", "110101199003071234", "我姓赵"]:
        assert item not in merged, item
    assert "我叫王明，护照E12345678在酒店被偷了" in merged
    assert "王明的行李箱被导游弄坏了" in merged
