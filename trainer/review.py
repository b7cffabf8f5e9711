"""Review inbox: learn from real conversations (make review / make review-merge).

    python -m scripts.review export [--all] [--force]   # tracker store -> review/inbox.yml
    python -m scripts.review merge                      # annotated review/inbox.yml ->
                                                        #   data/nlu/review_<date>.yml

`export` reads Rasa's SQL tracker store (SQLite file from TRACKER_DB, default
var/tracker.db) and collects every traveller message that ended in a fallback,
had an intent confidence below 0.6, or was followed by a handoff to a human.
Messages are deduplicated by normalised text; those already in the training
data are left out. Each one is written under a placeholder intent
`待标注_<predicted>` with the previous bot message, the predicted intent and
the confidence as YAML comments. Only messages newer than the last export are
collected unless --all is given. Personal data never reaches the inbox or data/nlu
(`scrub`): phone numbers, resident ID and passport/permit numbers are replaced by sample
ones, and travellers' names by a sample name: the names after cue words (我叫, 姓名,
联系人…), the names the conversations gave (the `complainant_name` slot, `person_name`
entities) and the booking holders' names of the bookings they named (read from the
ticketing API's database, DATABASE_URL, when it can be read).

`merge` scrubs every example the same way (cue words, numbers, the names known from the
tracker store) before it checks the annotated file (no placeholder left, every intent known to
the domain, or new with at least 10 examples) and refuses the whole file on any
problem; duplicates of existing training or holdout examples are skipped.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sqlite3
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Set, Tuple

from trainer.check import MIN_EXAMPLES_ERROR
from trainer.nlu_data import NluYamlError, load_nlu_file
from trainer.project import Project
from trainer.text import normalise, strip_annotations

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = "待标注_"
IGNORE = {"忽略", "ignore"}
LOW_CONFIDENCE = 0.6
FALLBACK_ACTIONS = {"action_fallback", "action_default_fallback", "action_two_stage_fallback"}
HANDOFF_ACTIONS = {"action_request_human"}
PHONE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)")
SAMPLE_PHONE = "13800138000"
# Resident ID (18 characters, the last may be X, or the old 15 digits); passports and
# HK/Macau/Taiwan permits (as api/app/services/masking.py recognises them).
ID_CARD = re.compile(
    r"(?<![0-9A-Za-z])"
    r"(?:\d{6}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]"
    r"|\d{15})(?![0-9A-Za-z])"
)
PASSPORT = re.compile(r"(?<![0-9A-Za-z])(?:[EeGgDdSsPp][A-Za-z]?\d{7,8}|[HhMmTt]\d{8,10})(?![0-9A-Za-z])")
SAMPLE_ID = "11010519491231002X"  # the standard's own example number
SAMPLE_PASSPORT = "E12345678"
SAMPLE_NAME = "王明"
SAMPLE_SURNAME = "王"
_HAN = "\u4e00-\u9fff·"
# A name after the words that introduce one; 2-4 characters, the shortest after which what follows is
# plainly not part of it ("我叫张伟想投诉": 张伟; "姓名：欧阳娜娜，": four). An entity annotation's "["
# may come first.
NAME_CUE = re.compile(
    r"(我叫|我名叫|名叫|我的名字是|我的名字叫|名字是|名字叫|姓名\s*[是为:：]?|联系人\s*[是为:：]?"
    r"|预订人\s*[是为:：]?|订票人\s*[是为:：]?|持卡人\s*[是为:：]?|投诉人\s*[是为:：]?|登记人\s*[是为:：]?)\s*(\[?)"
    rf"(?:([{_HAN}]{{2,4}}?)(?=$|[^{_HAN}]|[想要在的是我电手订来投啊呀呢吧和跟，])|([{_HAN}]{{2,3}}))"
)
SURNAME_CUE = re.compile(rf"(我姓|本人姓|免贵姓)([{_HAN[:-1]}])")
NAME_SLOTS = {"complainant_name", "traveller_name", "contact_name", "person_name"}
BOOKING_SLOTS = {"booking_ref", "verified_booking"}
REASONS = {"fallback": "没听懂（兜底回复）", "low_confidence": "置信度低", "handoff": "之后转了人工"}


def scrub(text: str, names: Iterable[str] = ()) -> str:
    """Personal data replaced by samples: known names (longest first), names after cue words,
    ID and passport numbers, phone numbers."""
    for name in sorted({n.strip() for n in names if n and len(n.strip()) >= 2}, key=len, reverse=True):
        text = text.replace(name, SAMPLE_NAME)
    text = ID_CARD.sub(SAMPLE_ID, text)
    text = PASSPORT.sub(SAMPLE_PASSPORT, text)
    text = PHONE.sub(SAMPLE_PHONE, text)
    text = NAME_CUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{SAMPLE_NAME}", text)
    text = SURNAME_CUE.sub(lambda m: f"{m.group(1)}{SAMPLE_SURNAME}", text)
    return text


@dataclass
class Candidate:
    text: str
    sender_id: str
    timestamp: float
    predicted: str
    confidence: float
    previous_bot: str = ""
    reasons: List[str] = field(default_factory=list)
    count: int = 1
    names: Set[str] = field(default_factory=set)  # the names this conversation gave


@dataclass
class TrackerNames:
    """What the tracker store says about who the travellers are, per sender id."""

    names: Dict[str, Set[str]] = field(default_factory=dict)
    bookings: Dict[str, Set[str]] = field(default_factory=dict)

    def add(self, sender: str, event_type: str, data: Dict) -> None:
        if event_type == "slot" and isinstance(data.get("value"), str) and data["value"].strip():
            if data.get("name") in NAME_SLOTS:
                self.names.setdefault(sender, set()).add(data["value"].strip())
            elif data.get("name") in BOOKING_SLOTS:
                self.bookings.setdefault(sender, set()).add(data["value"].strip().upper())
        elif event_type == "user":
            for entity in (data.get("parse_data") or {}).get("entities") or []:
                if entity.get("entity") in NAME_SLOTS and isinstance(entity.get("value"), str):
                    self.names.setdefault(sender, set()).add(entity["value"].strip())

    def for_sender(self, sender: str, holders: Dict[str, str]) -> Set[str]:
        found = set(self.names.get(sender, set()))
        found |= {holders[ref] for ref in self.bookings.get(sender, set()) if ref in holders}
        return found

    def all(self, holders: Dict[str, str]) -> Set[str]:
        return set().union(*self.names.values(), holders.values()) if (self.names or holders) else set()


def booking_holders(refs: Iterable[str]) -> Dict[str, str]:
    """Booking number -> the holder's name, from the ticketing API's database (DATABASE_URL:
    a SQLite file, or PostgreSQL through SQLAlchemy); {} when it cannot be read."""
    refs = sorted(set(refs))
    if not refs:
        return {}
    url = os.environ.get("DATABASE_URL", "sqlite:///var/tickets.db")
    marks = ",".join("?" * len(refs))
    try:
        if url.startswith("sqlite:///"):
            path = Path(url[len("sqlite:///") :].split("?")[0])
            path = path if path.is_absolute() else ROOT / path
            if not path.exists():
                return {}
            connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                rows = connection.execute(
                    f"SELECT ref, traveller_name FROM bookings WHERE ref IN ({marks})", refs
                ).fetchall()
            finally:
                connection.close()
        else:
            import sqlalchemy as sa

            engine = sa.create_engine(re.sub(r"^postgresql\+\w+://", "postgresql://", url))
            try:
                with engine.connect() as connection:
                    rows = connection.execute(
                        sa.text("SELECT ref, traveller_name FROM bookings WHERE ref IN :refs").bindparams(
                            sa.bindparam("refs", expanding=True)
                        ),
                        {"refs": refs},
                    ).fetchall()
            finally:
                engine.dispose()
    except Exception as error:  # noqa: BLE001 - names after cue words are still scrubbed
        print(f"注意：读不到订单库（DATABASE_URL），订单持有人的姓名只按提示词替换：{error}")
        return {}
    return {ref: name for ref, name in rows if name}


# ---------------------------------------------------------------- export


def tracker_db(root: Path) -> Path:
    path = Path(os.environ.get("TRACKER_DB", "var/tracker.db"))
    return path if path.is_absolute() else root / path


def predicted_intent(parse: Dict) -> Tuple[str, float]:
    """The model's own guess: behind nlu_fallback, the best real intent of the ranking."""
    intent = parse.get("intent") or {}
    name, confidence = intent.get("name") or "", float(intent.get("confidence") or 0.0)
    if name == "nlu_fallback":
        for item in parse.get("intent_ranking") or []:
            if item.get("name") and item["name"] != "nlu_fallback":
                return item["name"], float(item.get("confidence") or 0.0)
    return name or "unknown", confidence


def read_events(db: Path) -> List[tuple]:
    if not db.exists():
        raise SystemExit(
            f"找不到对话记录数据库 {db}（环境变量 TRACKER_DB）。机器人运行过、有人聊过天之后才会有。"
        )
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = connection.execute(
            "SELECT sender_id, type_name, timestamp, intent_name, action_name, data FROM events "
            "ORDER BY sender_id, id"
        ).fetchall()
    except sqlite3.Error as error:
        raise SystemExit(f"读不了对话记录数据库 {db}：{error}")
    finally:
        connection.close()
    return rows


def tracker_names(rows: List[tuple]) -> TrackerNames:
    known = TrackerNames()
    for sender, type_name, _timestamp, _intent, _action, raw in rows:
        if type_name in ("slot", "user") and raw:
            try:
                known.add(sender, type_name, json.loads(raw))
            except (json.JSONDecodeError, AttributeError):
                continue
    return known


def collect(db: Path, since: float = 0.0) -> List[Candidate]:
    rows = read_events(db)
    known = tracker_names(rows)
    holders = booking_holders(ref for refs in known.bookings.values() for ref in refs)
    everyone = known.all(holders)
    found: List[Candidate] = []
    last_bot: Dict[str, str] = {}
    current: Dict[str, Optional[Candidate]] = {}
    for sender, type_name, timestamp, _intent, action, raw in rows:
        try:
            data = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            data = {}
        if type_name == "bot":
            last_bot[sender] = data.get("text") or last_bot.get(sender, "")
        elif type_name == "user":
            text = (data.get("text") or "").strip()
            current[sender] = None
            # "/affirm" and the like come from buttons, not from typing.
            if not text or text.startswith("/") or (timestamp or 0) <= since:
                continue
            name, confidence = predicted_intent(data.get("parse_data") or {})
            names = known.for_sender(sender, holders) | everyone
            candidate = Candidate(
                scrub(text, names),
                sender,
                timestamp or 0.0,
                name,
                confidence,
                last_bot.get(sender, ""),
                names=names,
            )
            if ((data.get("parse_data") or {}).get("intent") or {}).get("name") == "nlu_fallback":
                candidate.reasons.append("fallback")
            if confidence < LOW_CONFIDENCE:
                candidate.reasons.append("low_confidence")
            current[sender] = candidate
            found.append(candidate)
        elif type_name == "action" and current.get(sender) is not None:
            candidate = current[sender]
            if action in FALLBACK_ACTIONS and "fallback" not in candidate.reasons:
                candidate.reasons.append("fallback")
            if action in HANDOFF_ACTIONS and "handoff" not in candidate.reasons:
                candidate.reasons.append("handoff")
    return [c for c in found if c.reasons]


def deduplicate(candidates: List[Candidate], known: set) -> Tuple[List[Candidate], int]:
    unique: "OrderedDict[str, Candidate]" = OrderedDict()
    already = 0
    for c in candidates:
        key = normalise(c.text)
        if not key:
            continue
        if key in known:
            already += 1
            continue
        if key in unique:
            unique[key].count += 1
            for reason in c.reasons:
                if reason not in unique[key].reasons:
                    unique[key].reasons.append(reason)
        else:
            unique[key] = c
    return list(unique.values()), already


def comment(text: str) -> str:
    return " ".join(text.split())[:80]


def yaml_example(text: str) -> str:
    # Inside a literal block nothing needs escaping, but a line must stay one line.
    return " ".join(text.split())


def render_inbox(candidates: List[Candidate]) -> str:
    lines = [
        "# 审核收件箱：机器人没听懂、没把握或转了人工的旅客原话（make review 生成）。",
        "# 怎么标注：",
        "#   1. 把每条的「待标注_…」改成正确的意图名（如 query_itinerary、policy/refund、complain）；",
        "#      「待标注_」后面是模型当时的猜测，猜对了就去掉前缀「待标注_」。",
        "#   2. 没用的句子（乱码、与业务无关）把意图改成「忽略」，或整条删掉。",
        "#   3. 可以顺手标注实体，例如 [TR20260001](booking_ref)。",
        "#   4. 保存后运行 make review-merge，再 make check、make train。",
        f"# 个人信息已替换为示例：手机号 {SAMPLE_PHONE}、姓名 {SAMPLE_NAME}、"
        f"身份证号 {SAMPLE_ID}、护照号 {SAMPLE_PASSPORT}。",
        'version: "3.1"',
        "nlu:" if candidates else "nlu: []  # 没有需要标注的新消息",
    ]
    for c in sorted(candidates, key=lambda c: (c.predicted, -c.count, c.timestamp)):
        when = dt.datetime.fromtimestamp(c.timestamp, dt.timezone.utc).strftime("%Y-%m-%d %H:%M")
        reasons = "、".join(REASONS[r] for r in c.reasons)
        times = f"，共出现 {c.count} 次" if c.count > 1 else ""
        lines.append("")
        lines.append(f"# 原因：{reasons}{times}｜模型判断：{c.predicted}（置信度 {c.confidence:.2f}）")
        lines.append(f"# 机器人上一句：{comment(scrub(c.previous_bot, c.names)) or '（对话开头）'}")
        lines.append(f"# 对话：{c.sender_id}｜{when} UTC")
        lines.append(f"- intent: {PLACEHOLDER}{c.predicted}")
        lines.append("  examples: |")
        lines.append(f"    - {yaml_example(scrub(c.text, c.names))}")
    return "\n".join(lines) + "\n"


def known_texts(root: Path) -> set:
    project = Project(root)
    texts = {normalise(ex.text) for ex in project.nlu.examples}
    holdout = root / "tests" / "nlu_holdout.yml"
    if holdout.exists():
        data = load_nlu_file(holdout, "tests/nlu_holdout.yml")
        texts |= {normalise(ex.text) for ex in data.examples}
    return texts


def state_path(root: Path) -> Path:
    return root / "review" / "state.json"


def export(root: Path, include_all: bool, force: bool) -> int:
    inbox = root / "review" / "inbox.yml"
    if inbox.exists() and not force:
        print(
            f"收件箱 {inbox.relative_to(root)} 还在，可能有没合并的标注。"
            "请先运行 make review-merge；确定不要它了，再加 --force 覆盖。"
        )
        return 1
    state = json.loads(state_path(root).read_text()) if state_path(root).exists() else {}
    since = 0.0 if include_all else float(state.get("last_export", 0.0))
    candidates = collect(tracker_db(root), since)
    unique, already = deduplicate(candidates, known_texts(root))
    inbox.parent.mkdir(parents=True, exist_ok=True)
    inbox.write_text(render_inbox(unique), encoding="utf-8")
    newest = max([c.timestamp for c in candidates] + [since])
    state_path(root).write_text(json.dumps({"last_export": newest}), encoding="utf-8")
    by_reason = Counter(r for c in unique for r in c.reasons)
    print(
        f"已导出 {len(unique)} 条待标注的旅客原话到 {inbox.relative_to(root)}"
        f"（{'、'.join(f'{REASONS[k]} {v}' for k, v in by_reason.items()) or '无'}；"
        f"合并了 {len(candidates) - len(unique) - already} 条重复，"
        f"跳过 {already} 条训练数据里已有的）。"
    )
    if not unique:
        print("没有需要标注的新消息。")
    return 0


# ---------------------------------------------------------------- merge


def known_names(root: Path) -> Set[str]:
    """Every name the tracker store knows (slots, entities, booking holders); empty without it."""
    db = tracker_db(root)
    if not db.exists():
        return set()
    try:
        known = tracker_names(read_events(db))
    except SystemExit:
        return set()
    return known.all(booking_holders(ref for refs in known.bookings.values() for ref in refs))


def read_annotated(path: Path) -> List[Tuple[str, List[str], int]]:
    """(intent, raw examples, line) for each entry of the annotated inbox."""
    try:
        data = load_nlu_file(path, path.name)
    except NluYamlError as error:
        where = f"第 {error.line} 行" if error.line else ""
        raise SystemExit(f"{path.name} {where}YAML 格式有误（多半是缩进或冒号）：{error.problem}")
    entries = []
    for entry in data.entries:
        examples = entry.examples or ""
        if not isinstance(examples, str):
            raise SystemExit(
                f"{path.name} 第 {entry.line} 行：examples 后面要写「|」，每条例句一行，以「- 」开头。"
            )
        # Every non-empty line counts, with or without its "- ": a trainer's slip is not lost.
        raw = [re.sub(r"^-\s*", "", ln.strip()) for ln in examples.splitlines() if ln.strip()]
        entries.append((entry.intent, [r for r in raw if r], entry.line))
    return entries


def merge(root: Path, inbox: Optional[Path], today: Optional[str] = None) -> int:
    inbox = inbox or root / "review" / "inbox.yml"
    if not inbox.exists():
        print(f"没有找到收件箱 {inbox}，请先运行 make review。")
        return 1
    project = Project(root)
    domain_intents = set(project.domain_intents())
    existing_intents = {ex.intent for ex in project.nlu.examples}
    names = known_names(root)
    # Nothing personal reaches data/nlu, whatever the inbox's age or a trainer's additions.
    entries = [
        (intent, [scrub(raw, names) for raw in examples], line)
        for intent, examples, line in read_annotated(inbox)
    ]
    problems: List[str] = []
    grouped: "OrderedDict[str, List[str]]" = OrderedDict()
    for intent, examples, line in entries:
        if intent.startswith(PLACEHOLDER) or intent.startswith("待标注"):
            problems.append(f"第 {line} 行：「{intent}」还没有标注，请改成正确的意图名（或「忽略」）。")
            continue
        if intent in IGNORE:
            continue
        if not re.fullmatch(r"[A-Za-z0-9_]+(/[A-Za-z0-9_]+)?", intent):
            problems.append(
                f"第 {line} 行：意图名「{intent}」只能用英文字母、数字和下划线（政策问题写 policy/键名）。"
            )
            continue
        grouped.setdefault(intent, []).extend(examples)
    known = known_texts(root)
    added: "OrderedDict[str, List[str]]" = OrderedDict()
    skipped = 0
    for intent, examples in grouped.items():
        for raw in examples:
            key = normalise(strip_annotations(raw)[0])
            if not key or key in known:
                skipped += 1
                continue
            known.add(key)
            added.setdefault(intent, []).append(raw)
    new_intents = []
    for intent, examples in added.items():
        base = intent.split("/")[0]
        if "/" in intent:
            if base not in domain_intents:
                problems.append(f"意图「{intent}」：domain.yml 里没有检索意图 {base}。")
            elif intent not in existing_intents:
                problems.append(
                    f"意图「{intent}」是新的政策问题：请先按培训手册在 data/nlu/policy.yml 里添加它"
                    f"（例句和答案 utter_{intent}），再合并。"
                )
        elif intent not in domain_intents:
            if len(examples) < MIN_EXAMPLES_ERROR:
                problems.append(
                    f"意图「{intent}」在 domain.yml 里不存在。"
                    f"如果是新意图，至少要 {MIN_EXAMPLES_ERROR} 条例句"
                    f"（现在 {len(examples)} 条）；如果是拼写错误，请改正。"
                )
            else:
                new_intents.append(intent)
    if problems:
        print("没有合并任何内容，请先改正收件箱里的这些问题：")
        for p in problems:
            print(f"  - {p}")
        return 1
    if not added:
        print(f"没有可合并的新例句（跳过 {skipped} 条已在训练数据或测试集里的）。")
        archive(root, inbox)
        return 0
    day = today or dt.date.today().strftime("%Y%m%d")
    target = root / "data" / "nlu" / f"review_{day}.yml"
    blocks = []
    for intent, examples in added.items():
        blocks.append(f"- intent: {intent}\n  examples: |\n" + "".join(f"    - {e}\n" for e in examples))
    if target.exists():
        text = target.read_text(encoding="utf-8").rstrip("\n") + "\n" + "".join(blocks)
    else:
        text = (
            f"# 来自审核收件箱（make review-merge），{day}。可以像其他例句文件一样修改。\n"
            'version: "3.1"\nnlu:\n' + "".join(blocks)
        )
    target.write_text(text, encoding="utf-8")
    archive(root, inbox)
    total = sum(len(v) for v in added.values())
    print(
        f"已把 {total} 条例句合并到 {target.relative_to(root)}"
        f"（{'、'.join(f'{k} {len(v)} 条' for k, v in added.items())}；跳过 {skipped} 条重复）。"
    )
    for intent in new_intents:
        print(
            f"注意：{intent} 是新意图，还要在 domain.yml 里登记、写回复和规则（见 docs/trainer-guide.md），"
            "否则 make check 会报错。"
        )
    print("下一步：make check，然后 make train。")
    return 0


def archive(root: Path, inbox: Path) -> None:
    # Keep the annotated file for the record; a second merge of it is impossible.
    folder = root / "review" / "merged"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    inbox.rename(folder / f"inbox-{stamp}.yml")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="审核收件箱（make review / make review-merge）")
    parser.add_argument("--root", type=Path, default=ROOT)
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("export", help="collect messages to review/inbox.yml")
    ex.add_argument("--all", action="store_true", help="also messages older than the last export")
    ex.add_argument("--force", action="store_true", help="overwrite an existing inbox")
    mg = sub.add_parser("merge", help="add the annotated examples to data/nlu/")
    mg.add_argument("--inbox", type=Path, default=None)
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if args.command == "export":
        return export(root, args.all, args.force)
    return merge(root, args.inbox)
