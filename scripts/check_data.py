"""Checks the training data and explains every problem in plain Chinese.

Runs `rasa data validate` and the project's own checks (example counts,
duplicates and near-duplicates across intents, unused intents, missing
responses, policy keys without answers, jieba dictionary lines, holdout
leaks). Every message names the file and line a trainer has to open.

    python scripts/check_data.py                  # make check
    python scripts/check_data.py --no-rasa        # only the project's checks (seconds)
    python scripts/check_data.py --root DIR       # check another copy of the project
    python scripts/check_data.py --json           # machine-readable findings (tests)

Exit code 1 when there is at least one error, 0 when there are only warnings.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import unicodedata
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Set, Tuple

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent

MIN_EXAMPLES_ERROR = 10
MIN_EXAMPLES_WARNING = 25
NEAR_DUPLICATE_JACCARD = 0.8
# Intents Rasa produces itself or that need no examples.
BUILTIN_INTENTS = {"nlu_fallback", "out_of_scope_builtin"}

# "[TR20260001](booking_ref)" / "[十天]{"entity": ...}" -> "TR20260001" / "十天"
ANNOTATION = re.compile(r"\[([^\]]*)\](?:\(([^)]*)\)|\{([^}]*)\})")
EXAMPLE_LINE = re.compile(r"^(\s*)-\s?(.*)$")
BLOCK_HEAD = re.compile(r"^\s*-\s*(intent|synonym|regex|lookup)\s*:\s*(.+?)\s*$")
EXAMPLES_KEY = re.compile(r"^\s*examples\s*:\s*\|[-+]?\s*$")
# jieba's own parser for user-dictionary lines (jieba/__init__.py, re_userdict).
JIEBA_LINE = re.compile(r"^(.+?)( [0-9]+)?( [a-z]+)?$")


@dataclass
class Finding:
    level: str  # "error" | "warning"
    code: str  # stable id the tests and tools rely on
    file: str
    line: int
    message: str  # Chinese, for the trainer
    subject: str = ""  # the intent/response a `rasa data validate` finding is about

    def render(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        label = "错误" if self.level == "error" else "警告"
        return f"[{label}] {where}  {self.message}"


@dataclass
class Example:
    intent: str
    raw: str
    text: str  # annotations removed
    file: str
    line: int
    entities: List[str] = field(default_factory=list)


@dataclass
class NluData:
    examples: List[Example] = field(default_factory=list)
    intent_lines: Dict[str, Tuple[str, int]] = field(default_factory=dict)
    synonyms: List[Example] = field(default_factory=list)  # intent = synonym value
    responses: Dict[str, Tuple[str, int]] = field(default_factory=dict)  # from responses: sections


# ---------------------------------------------------------------- parsing


def strip_annotations(raw: str) -> Tuple[str, List[str]]:
    entities: List[str] = []

    def entity_name(match: re.Match) -> str:
        if match.group(2) is not None:
            entities.append(match.group(2).split(":")[0].split("=")[0].strip())
        elif match.group(3) is not None:
            found = re.search(r'"entity"\s*:\s*"([^"]+)"', "{" + match.group(3) + "}")
            if found:
                entities.append(found.group(1))
        return match.group(1)

    return ANNOTATION.sub(entity_name, raw).strip(), entities


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def parse_nlu_file(path: Path, rel: str, data: NluData) -> None:
    """Line-based scan: Rasa's loader drops line numbers, trainers need them."""
    lines = path.read_text(encoding="utf-8").splitlines()
    kind: Optional[str] = None
    name: Optional[str] = None
    in_block = False
    block_indent: Optional[int] = None
    key_indent = 0
    in_responses = False
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if in_block:
            if not stripped:
                continue
            indent = len(line) - len(line.lstrip())
            if block_indent is None:
                if indent <= key_indent:
                    in_block = False
                else:
                    block_indent = indent
            if in_block and indent >= (block_indent or 0):
                match = EXAMPLE_LINE.match(line)
                if match and kind in ("intent", "synonym") and name:
                    raw = match.group(2).rstrip()
                    text, entities = strip_annotations(raw)
                    example = Example(name, raw, text, rel, number, entities)
                    (data.examples if kind == "intent" else data.synonyms).append(example)
                continue
            in_block = False
        if re.match(r"^responses\s*:", line):
            in_responses = True
            continue
        if re.match(r"^\S", line):
            in_responses = False
        if in_responses:
            match = re.match(r"^\s{1,4}(utter_\S+?)\s*:\s*$", line)
            if match:
                data.responses.setdefault(match.group(1), (rel, number))
            continue
        head = BLOCK_HEAD.match(line)
        if head:
            kind, name = head.group(1), _unquote(head.group(2))
            if kind == "intent":
                data.intent_lines.setdefault(name, (rel, number))
            continue
        if EXAMPLES_KEY.match(line):
            in_block = True
            block_indent = None
            key_indent = len(line) - len(line.lstrip())


def yaml_files(folder: Path) -> List[Path]:
    if not folder.exists():
        return []
    return sorted(p for p in folder.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())


def load_yaml(path: Path):
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8")) or {}


def key_line(path: Path, key: str) -> int:
    pattern = re.compile(rf"^\s*-?\s*{re.escape(key)}\s*:")
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if pattern.match(line) or line.strip() in (f"- {key}", f"-{key}"):
            return number
    return 0


# ---------------------------------------------------------------- normalisation

_PUNCT_CATEGORIES = ("P", "S", "Z", "C")


@lru_cache(maxsize=1)
def _t2s():
    # The model's normaliser uses OpenCC too; importing it would pull in rasa and
    # TensorFlow (a minute of start-up), so the check converts on its own.
    try:
        from opencc import OpenCC

        return OpenCC("t2s").convert
    except Exception:  # pragma: no cover - still useful without OpenCC
        return lambda text: text


def _base_normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", _t2s()(text))


def normalise_for_compare(text: str) -> str:
    """Simplified, half-width, lower case, no punctuation, spaces or emoji."""
    text = _base_normalise(text).lower()
    return "".join(ch for ch in text if not unicodedata.category(ch).startswith(_PUNCT_CATEGORIES))


def bigrams(text: str) -> Set[str]:
    if len(text) < 2:
        return {text} if text else set()
    return {text[i : i + 2] for i in range(len(text) - 1)}


# ---------------------------------------------------------------- project


class Project:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.nlu = NluData()
        for path in yaml_files(root / "data" / "nlu"):
            parse_nlu_file(path, self.rel(path), self.nlu)
        self.domain_path = root / "domain.yml"
        self.domain = load_yaml(self.domain_path) if self.domain_path.exists() else {}
        self.story_files = yaml_files(root / "data" / "rules") + yaml_files(root / "data" / "stories")

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def domain_intents(self) -> List[str]:
        names = []
        for item in self.domain.get("intents") or []:
            names.append(next(iter(item)) if isinstance(item, dict) else str(item))
        return names

    def domain_responses(self) -> Set[str]:
        return set((self.domain.get("responses") or {}).keys())

    def all_responses(self) -> Set[str]:
        return self.domain_responses() | set(self.nlu.responses)

    def story_steps(self) -> List[Tuple[str, str, str, int]]:
        """(kind, value, file, line) for every `intent:` / `action:` step in rules and stories."""
        steps = []
        for path in self.story_files:
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                match = re.match(r"^\s*-?\s*(intent|action)\s*:\s*(\S+?)\s*$", line)
                if match:
                    steps.append((match.group(1), _unquote(match.group(2)), self.rel(path), number))
        return steps

    def slot_mapping_intents(self) -> Set[str]:
        used: Set[str] = set()
        for slot in (self.domain.get("slots") or {}).values():
            for mapping in (slot or {}).get("mappings") or []:
                for key in ("intent", "not_intent"):
                    value = mapping.get(key)
                    if isinstance(value, str):
                        used.add(value)
                    elif isinstance(value, list):
                        used.update(map(str, value))
        return used


# ---------------------------------------------------------------- checks


def check_example_counts(project: Project) -> List[Finding]:
    findings = []
    counts = Counter(ex.intent for ex in project.nlu.examples)
    for intent, count in sorted(counts.items()):
        file, line = project.nlu.intent_lines.get(intent, ("data/nlu", 0))
        if count < MIN_EXAMPLES_ERROR:
            findings.append(Finding("error", "too_few_examples", file, line,
                f"意图 {intent} 只有 {count} 条例句，至少需要 {MIN_EXAMPLES_ERROR} 条"
                f"（建议 {MIN_EXAMPLES_WARNING} 条以上，说法越多样越好）。"))
        elif count < MIN_EXAMPLES_WARNING:
            findings.append(Finding("warning", "few_examples", file, line,
                f"意图 {intent} 只有 {count} 条例句，建议补充到 {MIN_EXAMPLES_WARNING} 条以上"
                "（长短句、客气/生气、繁体、错别字、中英混写都要有）。"))
    return findings


def check_duplicates(project: Project) -> List[Finding]:
    findings = []
    by_text: Dict[str, List[Example]] = defaultdict(list)
    for ex in project.nlu.examples:
        by_text[ex.text].append(ex)
    for text, group in by_text.items():
        intents = sorted({ex.intent for ex in group})
        if len(intents) > 1:
            places = "、".join(f"{ex.file}:{ex.line}（{ex.intent}）" for ex in group)
            findings.append(Finding("error", "duplicate_across_intents", group[0].file, group[0].line,
                f"例句「{text}」同时出现在多个意图下：{places}。请只保留在正确的意图里。"))
        elif len(group) > 1:
            places = "、".join(f"{ex.file}:{ex.line}" for ex in group[1:])
            findings.append(Finding("warning", "duplicate_in_intent", group[0].file, group[0].line,
                f"例句「{text}」在意图 {intents[0]} 里重复了（又见 {places}），删掉多余的即可。"))
    return findings


def check_near_duplicates(project: Project) -> List[Finding]:
    """Pairs under different intents that the model can hardly tell apart."""
    findings = []
    examples = project.nlu.examples
    norms = [normalise_for_compare(ex.text) for ex in examples]
    grams = [bigrams(n) for n in norms]
    index: Dict[str, List[int]] = defaultdict(list)
    for i, gs in enumerate(grams):
        for g in gs:
            index[g].append(i)
    exact_seen: Set[Tuple[int, int]] = set()
    by_norm: Dict[str, List[int]] = defaultdict(list)
    for i, n in enumerate(norms):
        if n:
            by_norm[n].append(i)
    for n, members in by_norm.items():
        for a_pos, a in enumerate(members):
            for b in members[a_pos + 1 :]:
                ea, eb = examples[a], examples[b]
                if ea.intent == eb.intent or ea.text == eb.text:
                    continue  # same intent is harmless; identical text is reported as a duplicate
                exact_seen.add((a, b))
                findings.append(Finding("error", "same_after_normalising", ea.file, ea.line,
                    f"例句「{ea.text}」（{ea.intent}）和 {eb.file}:{eb.line} 的「{eb.text}」（{eb.intent}）"
                    "去掉标点、空格并统一繁简/大小写后完全相同，模型无法区分。请删掉其中一条或改写。"))
    for i, gs in enumerate(grams):
        if not gs:
            continue
        shared: Counter = Counter()
        for g in gs:
            for j in index[g]:
                if j > i:
                    shared[j] += 1
        for j, common in shared.items():
            ea, eb = examples[i], examples[j]
            if ea.intent == eb.intent or (i, j) in exact_seen or norms[i] == norms[j]:
                continue
            jaccard = common / (len(gs) + len(grams[j]) - common)
            if jaccard >= NEAR_DUPLICATE_JACCARD:
                findings.append(Finding("warning", "near_duplicate", ea.file, ea.line,
                    f"例句「{ea.text}」（{ea.intent}）和 {eb.file}:{eb.line} 的「{eb.text}」（{eb.intent}）"
                    f"几乎一样（相似度 {jaccard:.2f}），容易让模型混淆。请确认它们确实属于不同意图，"
                    "或改写得更有区别。"))
    return findings


def check_intent_usage(project: Project) -> List[Finding]:
    findings = []
    domain_intents = project.domain_intents()
    example_intents = {ex.intent for ex in project.nlu.examples}
    # "policy" in the domain covers every "policy/<key>" in the examples.
    example_bases = {i.split("/")[0] for i in example_intents}
    steps = project.story_steps()
    step_intents = {value for kind, value, _, _ in steps if kind == "intent"}
    step_bases = {i.split("/")[0] for i in step_intents}
    mapping_intents = project.slot_mapping_intents()
    domain_file = project.rel(project.domain_path)
    for intent in domain_intents:
        if intent in BUILTIN_INTENTS:
            continue
        line = key_line(project.domain_path, intent)
        if intent not in example_bases:
            findings.append(Finding("error", "intent_without_examples", domain_file, line,
                f"意图 {intent} 在 domain.yml 里登记了，但 data/nlu/ 里没有它的任何例句。"
                "请添加例句，或从 domain.yml 删掉它。"))
        if intent not in step_bases and intent not in mapping_intents:
            findings.append(Finding("warning", "intent_unused", domain_file, line,
                f"意图 {intent} 没有被任何规则（data/rules/）、故事（data/stories/）或表单槽位使用："
                "机器人识别出它以后不知道该怎么回答。请加一条规则。"))
    known = set(domain_intents)
    for intent in sorted(example_intents):
        if intent.split("/")[0] not in known:
            file, line = project.nlu.intent_lines.get(intent, ("data/nlu", 0))
            findings.append(Finding("error", "intent_not_in_domain", file, line,
                f"意图 {intent} 有例句，但没有写进 domain.yml 的 intents 列表"
                f"（检索意图写 {intent.split('/')[0]} 即可）。"))
    for kind, value, file, line in steps:
        if kind == "intent" and value.split("/")[0] not in known and value not in BUILTIN_INTENTS:
            findings.append(Finding("error", "rule_intent_unknown", file, line,
                f"规则/故事里用到的意图 {value} 没有在 domain.yml 里登记。"))
    return findings


def check_responses(project: Project) -> List[Finding]:
    findings = []
    responses = project.all_responses()
    retrieval_bases = {r.split("/")[0] for r in responses if "/" in r}
    actions = set(map(str, project.domain.get("actions") or []))
    domain_file = project.rel(project.domain_path)

    def exists(name: str) -> bool:
        return name in responses or name in retrieval_bases

    for kind, value, file, line in project.story_steps():
        if kind == "action" and value.startswith("utter_") and not exists(value):
            findings.append(Finding("error", "missing_response", file, line,
                f"规则/故事要机器人说 {value}，但 domain.yml 的 responses 里没有这条回复。"
                "请在 domain.yml 的 responses 下添加它（或改正拼写）。"))
    for name in sorted(actions):
        if name.startswith("utter_") and not exists(name):
            findings.append(Finding("error", "missing_response", domain_file, key_line(project.domain_path, name),
                f"domain.yml 的 actions 列出了 {name}，但没有这条回复的文字。"))
    for form, spec in (project.domain.get("forms") or {}).items():
        slots = (spec or {}).get("required_slots") or []
        if isinstance(slots, dict):
            slots = list(slots)
        for slot in slots:
            candidates = [f"utter_ask_{form}_{slot}", f"utter_ask_{slot}"]
            custom = [f"action_ask_{form}_{slot}", f"action_ask_{slot}"]
            if not any(exists(c) for c in candidates) and not any(c in actions for c in custom):
                findings.append(Finding("error", "missing_response", domain_file, key_line(project.domain_path, form),
                    f"表单 {form} 要向旅客询问 {slot}，但没有提问的回复 utter_ask_{slot}"
                    f"（或 utter_ask_{form}_{slot}）。请在 responses 里添加。"))
    return findings


def check_policy_answers(project: Project) -> List[Finding]:
    findings = []
    keys_with_examples = {ex.intent for ex in project.nlu.examples if "/" in ex.intent}
    responses = project.all_responses()
    locations = {**{r: (domain_file_rel(project), key_line(project.domain_path, r)) for r in project.domain_responses()},
                 **project.nlu.responses}
    for intent in sorted(keys_with_examples):
        answer = f"utter_{intent}"
        if answer not in responses:
            file, line = project.nlu.intent_lines.get(intent, ("data/nlu", 0))
            findings.append(Finding("error", "policy_without_answer", file, line,
                f"政策问题 {intent} 有例句，但没有对应的答案 {answer}。"
                f"请在 data/nlu/policy.yml 的 responses 下添加 {answer}。"))
    for answer in sorted(r for r in responses if "/" in r):
        intent = answer[len("utter_"):]
        if intent not in keys_with_examples:
            file, line = locations.get(answer, ("data/nlu/policy.yml", 0))
            findings.append(Finding("error", "answer_without_policy", file, line,
                f"答案 {answer} 没有任何例句问到它（缺少 intent: {intent}），机器人永远不会用到这条答案。"
                "请添加例句，或删掉这条答案。"))
    return findings


def domain_file_rel(project: Project) -> str:
    return project.rel(project.domain_path)


def dictionary_files(root: Path) -> List[Path]:
    files = sorted((root / "data" / "dict").glob("*.txt")) if (root / "data" / "dict").exists() else []
    extra = root / "data" / "complaints" / "dict.txt"
    return files + ([extra] if extra.exists() else [])


def check_dictionary(project: Project) -> List[Finding]:
    findings = []
    for path in dictionary_files(project.root):
        rel = project.rel(path)
        seen: Dict[str, int] = {}
        for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
            content = line.strip()
            if not content:
                continue
            problem = None
            if "\t" in line:
                problem = "用了制表符（Tab），请改成一个半角空格分隔"
            elif content.startswith("#"):
                problem = "jieba 词典不支持 # 注释，这一行会被当成一个词，请删掉"
            elif "  " in content or "\u3000" in content:
                problem = "词、词频、词性之间只能用一个半角空格"
            else:
                match = JIEBA_LINE.match(content)
                word = match.group(1) if match else content
                if " " in word:
                    problem = ("格式应为「词 [词频] [词性]」：词频是整数，词性是小写字母（如 n、v、ns），"
                               "词本身不能有空格")
                elif word in seen:
                    findings.append(Finding("warning", "dictionary_duplicate", rel, number,
                        f"词「{word}」在第 {seen[word]} 行已经有了，重复的一行可以删掉。"))
                else:
                    seen[word] = number
            if problem:
                findings.append(Finding("error", "dictionary_malformed", rel, number,
                    f"词典这一行「{content}」格式不对：{problem}。"))
    return findings


def check_entities(project: Project) -> List[Finding]:
    findings = []
    known = set(map(str, project.domain.get("entities") or []))
    known |= {next(iter(e)) for e in project.domain.get("entities") or [] if isinstance(e, dict)}
    for ex in project.nlu.examples:
        for entity in ex.entities:
            if entity and entity not in known:
                findings.append(Finding("error", "entity_not_in_domain", ex.file, ex.line,
                    f"例句「{ex.text}」标注了实体 {entity}，但 domain.yml 的 entities 里没有它。"))
    return findings


def check_synonyms(project: Project) -> List[Finding]:
    findings = []
    seen: Dict[str, Example] = {}
    for ex in project.nlu.synonyms:
        key = normalise_for_compare(ex.text)
        first = seen.get(key)
        if first is None:
            seen[key] = ex
        elif first.intent != ex.intent:
            findings.append(Finding("error", "synonym_conflict", ex.file, ex.line,
                f"「{ex.text}」既是 {first.intent} 的同义词（{first.file}:{first.line}），又是 {ex.intent} 的同义词。"
                "一个说法只能对应一个标准值，请删掉其中一个。"))
    return findings


def check_holdout(project: Project) -> List[Finding]:
    path = project.root / "tests" / "nlu_holdout.yml"
    if not path.exists():
        return []
    holdout = NluData()
    parse_nlu_file(path, project.rel(path), holdout)
    training = {}
    for ex in project.nlu.examples:
        training.setdefault(normalise_for_compare(ex.text), ex)
    findings = []
    for ex in holdout.examples:
        twin = training.get(normalise_for_compare(ex.text))
        if twin is not None:
            findings.append(Finding("error", "holdout_in_training", ex.file, ex.line,
                f"测试集（留出集）的句子「{ex.text}」也出现在训练数据 {twin.file}:{twin.line}。"
                "测试集必须是模型没见过的句子，否则准确率是假的：请从训练数据里删掉它，"
                "或在测试集里换一个新说法。"))
    return findings


CHECKS = [
    check_example_counts,
    check_duplicates,
    check_near_duplicates,
    check_intent_usage,
    check_responses,
    check_policy_answers,
    check_entities,
    check_synonyms,
    check_dictionary,
    check_holdout,
]


# ---------------------------------------------------------------- rasa data validate

# Rasa's English messages -> what they mean for a trainer.
RASA_MESSAGES = [
    (r"The intent '(.+?)' is not used in any story or rule", "warning", "rasa_intent_unused",
     "意图 {0} 没有在任何规则或故事中使用。"),
    (r"The intent '(.+?)' is listed in the domain file, but is not found in the NLU training data",
     "error", "rasa_intent_without_examples", "意图 {0} 在 domain.yml 里登记了，但没有任何例句。"),
    (r"labeled with intent '(.+?)'\. This intent is not listed in your domain",
     "error", "rasa_intent_not_in_domain", "意图 {0} 有例句，但没有写进 domain.yml 的 intents。"),
    (r"The intent '(.+?)' is used in your stories, but it is not listed in the domain", "error",
     "rasa_rule_intent_unknown", "规则/故事里的意图 {0} 没有在 domain.yml 里登记。"),
    (r"The action '(utter_.+?)' is used in the stories, but is not a valid utterance action", "error",
     "rasa_missing_response", "规则/故事要机器人说 {0}，但 domain.yml 的 responses 里没有这条回复。"),
    (r"The action '(.+?)' is used in the .*but it is not listed in the domain", "error",
     "rasa_missing_action", "规则/故事用到了动作 {0}，但 domain.yml 的 actions 里没有登记。"),
    (r"The form '(.+?)' is used in the .*but it is not listed in the domain", "error",
     "rasa_missing_form", "规则/故事用到了表单 {0}，但 domain.yml 的 forms 里没有它。"),
    (r"The form slot '(.+?)' in form '.+?' is not present in the domain slots", "error",
     "rasa_form_slot_missing", "表单要填的槽位 {0} 没有在 domain.yml 的 slots 里定义。"),
    (r"The utterance '(.+?)' is not used in any story or rule", "info", "rasa_response_unused",
     "回复 {0} 没有被任何规则或故事使用。"),
    (r"The example '(.+?)' was found labeled with multiple different intents", "error",
     "rasa_duplicate_example", "例句「{0}」被标注在多个不同意图下。"),
    (r"duplicated intents have been found across multiple domain files", "info", "rasa_domain_merge",
     "（政策答案写在 data/nlu/policy.yml，Rasa 把它当作第二个 domain 文件合并，属正常现象。）"),
    (r"The config file is missing", "warning", "rasa_config", "config.yml 缺少必需的设置：{raw}"),
    (r"CONFLICT|conflict", "error", "rasa_story_conflict", "规则/故事之间有冲突：{raw}"),
]


COVERED_BY_OWN_CHECKS = {"rasa_intent_unused", "rasa_intent_without_examples", "rasa_intent_not_in_domain",
                         "rasa_rule_intent_unknown", "rasa_missing_response", "rasa_duplicate_example"}


def code_references(root: Path) -> str:
    """Text of the custom actions: a response they send is used even if no rule names it."""
    parts = []
    for path in sorted((root / "actions").rglob("*.py")) if (root / "actions").exists() else []:
        parts.append(path.read_text(encoding="utf-8", errors="ignore"))
    return "\n".join(parts)


def run_rasa_validate(root: Path) -> List[Finding]:
    rasa = Path(sys.executable).parent / "rasa"
    data = [str(p) for p in ("data/nlu", "data/rules", "data/stories") if (root / p).exists()]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "RASA_TELEMETRY_ENABLED": "false",
           "PYTHONWARNINGS": "ignore::DeprecationWarning"}
    proc = subprocess.run([str(rasa), "data", "validate", "--domain", "domain.yml", "--data", *data],
                          cwd=root, env=env, capture_output=True, text=True)
    output = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + "\n" + proc.stderr)
    actions_code = code_references(root)
    domain = load_yaml(root / "domain.yml") if (root / "domain.yml").exists() else {}
    form_slots = {slot for spec in (domain.get("forms") or {}).values()
                  for slot in ((spec or {}).get("required_slots") or [])}
    findings: List[Finding] = []
    seen = set()
    for line in output.splitlines():
        message = None
        if "UserWarning:" in line:
            message = line.split("UserWarning:", 1)[1].strip()
        elif re.search(r"\b(ERROR|CRITICAL)\b", line):
            message = re.split(r"\b(?:ERROR|CRITICAL)\b\s*(?:[\w.]+\s+-\s+)?", line, maxsplit=1)[-1].strip()
        elif re.search(r"(Exception|Error): ", line) and not line.startswith(" "):
            message = line.strip()
        if not message or message in seen:
            continue
        seen.add(message)
        for pattern, level, code, chinese in RASA_MESSAGES:
            match = re.search(pattern, message)
            if not match:
                continue
            name = match.group(1) if match.groups() else ""
            if code == "rasa_response_unused" and (
                re.search(rf"\b{re.escape(name)}\b", actions_code)
                or any(name in (f"utter_ask_{s}",) or name.endswith(f"_{s}") and name.startswith("utter_ask_")
                       for s in form_slots)):
                level = "skip"  # sent by a custom action or asked by a form: in use
            if level != "skip":
                findings.append(Finding(level, code, "rasa data validate", 0,
                                        chinese.format(name, raw=message), subject=name))
            break
        else:
            findings.append(Finding("error" if "rror" in message else "warning", "rasa_other",
                                    "rasa data validate", 0, f"Rasa 提示：{message}"))
    if proc.returncode != 0 and not any(f.level == "error" for f in findings):
        tail = " ".join(output.strip().splitlines()[-3:])
        findings.append(Finding("error", "rasa_failed", "rasa data validate", 0,
                                f"Rasa 的数据校验没有通过（多半是 YAML 缩进或格式错误）：{tail}"))
    return findings


# ---------------------------------------------------------------- main


def run_checks(root: Path, with_rasa: bool = True) -> List[Finding]:
    project = Project(root)
    findings: List[Finding] = []
    for check in CHECKS:
        findings.extend(check(project))
    if with_rasa:
        for finding in run_rasa_validate(root):
            # Rasa repeats some of our checks without file and line: keep ours.
            if finding.code in COVERED_BY_OWN_CHECKS and any(
                    re.search(rf"(?<![\w/]){re.escape(finding.subject)}(?![\w/])", f.message) for f in findings):
                continue
            findings.append(finding)
    return findings


def main(argv: Optional[Iterable[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="检查训练数据（make check）")
    parser.add_argument("--root", type=Path, default=ROOT, help="project folder (default: this repository)")
    parser.add_argument("--no-rasa", action="store_true", help="skip `rasa data validate` (faster)")
    parser.add_argument("--json", action="store_true", help="print findings as JSON")
    parser.add_argument("--show-info", action="store_true", help="also print informational notes")
    args = parser.parse_args(list(argv) if argv is not None else None)
    root = args.root.resolve()
    findings = run_checks(root, with_rasa=not args.no_rasa)
    errors = [f for f in findings if f.level == "error"]
    warnings = [f for f in findings if f.level == "warning"]
    if args.json:
        print(json.dumps([asdict(f) for f in findings], ensure_ascii=False, indent=1))
    else:
        shown = [f for f in findings if f.level != "info" or args.show_info]
        for finding in sorted(shown, key=lambda f: (f.level != "error", f.file, f.line)):
            print(finding.render() if finding.level != "info" else f"[提示] {finding.message}")
        total = Counter(ex.intent for ex in Project(root).nlu.examples)
        print(f"\n检查完成：{len(total)} 个意图、{sum(total.values())} 条例句；"
              f"{len(errors)} 个错误，{len(warnings)} 个警告。")
        if errors:
            print("有错误：请按上面的文件和行号改正后再运行 make check。改好之前不要训练模型。")
        elif warnings:
            print("只有警告：可以训练，但建议尽快处理。")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
