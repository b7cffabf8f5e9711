"""The trainers' data check (make check): every problem in plain Chinese, with file and line.

Rasa's own validation (`trainer.rasa_check`, in process) and the project's checks:
example counts, duplicates and near-duplicates across intents, unused intents, missing
responses, policy keys without answers, jieba dictionary lines, holdout leaks.

    python -m scripts.check_data                  # make check
    python -m scripts.check_data --no-rasa        # only the project's checks (seconds)
    python -m scripts.check_data --root DIR       # check another copy of the project
    python -m scripts.check_data --json           # machine-readable findings (tests)

Exit code 1 when there is at least one error, 0 when there are only warnings.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter, defaultdict
from dataclasses import asdict
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Set, Tuple

from trainer.findings import Finding
from trainer.nlu_data import Example, NluYamlError, load_nlu_file
from trainer.project import Project, key_line, load_yaml
from trainer.rasa_check import COVERED_BY_OWN_CHECKS, run_rasa_validate
from trainer.text import bigrams, normalise

ROOT = Path(__file__).resolve().parent.parent

MIN_EXAMPLES_ERROR = 10
MIN_EXAMPLES_WARNING = 25
NEAR_DUPLICATE_JACCARD = 0.8
# Intents Rasa produces itself or that need no examples.
BUILTIN_INTENTS = {"nlu_fallback", "out_of_scope_builtin"}
# jieba's own parser for user-dictionary lines (jieba/__init__.py, re_userdict).
JIEBA_LINE = re.compile(r"^(.+?)( [0-9]+)?( [a-z]+)?$")

__all__ = ["Finding", "Project", "run_checks", "run_rasa_validate", "main"]


# ---------------------------------------------------------------- checks


def check_example_counts(project: Project) -> List[Finding]:
    findings = []
    counts = Counter(ex.intent for ex in project.nlu.examples)
    for intent, count in sorted(counts.items()):
        file, line = project.nlu.intent_lines.get(intent, ("data/nlu", 0))
        if count < MIN_EXAMPLES_ERROR:
            findings.append(
                Finding(
                    "error",
                    "too_few_examples",
                    file,
                    line,
                    f"意图 {intent} 只有 {count} 条例句，至少需要 {MIN_EXAMPLES_ERROR} 条"
                    f"（建议 {MIN_EXAMPLES_WARNING} 条以上，说法越多样越好）。",
                )
            )
        elif count < MIN_EXAMPLES_WARNING:
            findings.append(
                Finding(
                    "warning",
                    "few_examples",
                    file,
                    line,
                    f"意图 {intent} 只有 {count} 条例句，建议补充到 {MIN_EXAMPLES_WARNING} 条以上"
                    "（长短句、客气/生气、繁体、错别字、中英混写都要有）。",
                )
            )
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
            findings.append(
                Finding(
                    "error",
                    "duplicate_across_intents",
                    group[0].file,
                    group[0].line,
                    f"例句「{text}」同时出现在多个意图下：{places}。请只保留在正确的意图里。",
                )
            )
        elif len(group) > 1:
            places = "、".join(f"{ex.file}:{ex.line}" for ex in group[1:])
            findings.append(
                Finding(
                    "warning",
                    "duplicate_in_intent",
                    group[0].file,
                    group[0].line,
                    f"例句「{text}」在意图 {intents[0]} 里重复了（又见 {places}），删掉多余的即可。",
                )
            )
    return findings


def check_near_duplicates(project: Project) -> List[Finding]:
    """Pairs under different intents that the model can hardly tell apart."""
    findings = []
    examples = project.nlu.examples
    norms = [normalise(ex.text) for ex in examples]
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
                findings.append(
                    Finding(
                        "error",
                        "same_after_normalising",
                        ea.file,
                        ea.line,
                        f"例句「{ea.text}」（{ea.intent}）和 {eb.file}:{eb.line} "
                        f"的「{eb.text}」（{eb.intent}）"
                        "去掉标点、空格并统一繁简/大小写后完全相同，模型无法区分。请删掉其中一条或改写。",
                    )
                )
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
                findings.append(
                    Finding(
                        "warning",
                        "near_duplicate",
                        ea.file,
                        ea.line,
                        f"例句「{ea.text}」（{ea.intent}）和 {eb.file}:{eb.line} "
                        f"的「{eb.text}」（{eb.intent}）"
                        f"几乎一样（相似度 {jaccard:.2f}），容易让模型混淆。请确认它们确实属于不同意图，"
                        "或改写得更有区别。",
                    )
                )
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
            findings.append(
                Finding(
                    "error",
                    "intent_without_examples",
                    domain_file,
                    line,
                    f"意图 {intent} 在 domain.yml 里登记了，但 data/nlu/ 里没有它的任何例句。"
                    "请添加例句，或从 domain.yml 删掉它。",
                )
            )
        if intent not in step_bases and intent not in mapping_intents:
            findings.append(
                Finding(
                    "warning",
                    "intent_unused",
                    domain_file,
                    line,
                    f"意图 {intent} 没有被任何规则（data/rules/）、故事（data/stories/）或表单槽位使用："
                    "机器人识别出它以后不知道该怎么回答。请加一条规则。",
                )
            )
    known = set(domain_intents)
    for intent in sorted(example_intents):
        if intent.split("/")[0] not in known:
            file, line = project.nlu.intent_lines.get(intent, ("data/nlu", 0))
            findings.append(
                Finding(
                    "error",
                    "intent_not_in_domain",
                    file,
                    line,
                    f"意图 {intent} 有例句，但没有写进 domain.yml 的 intents 列表"
                    f"（检索意图写 {intent.split('/')[0]} 即可）。",
                )
            )
    for kind, value, file, line in steps:
        if kind == "intent" and value.split("/")[0] not in known and value not in BUILTIN_INTENTS:
            findings.append(
                Finding(
                    "error",
                    "rule_intent_unknown",
                    file,
                    line,
                    f"规则/故事里用到的意图 {value} 没有在 domain.yml 里登记。",
                )
            )
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
            findings.append(
                Finding(
                    "error",
                    "missing_response",
                    file,
                    line,
                    f"规则/故事要机器人说 {value}，但 domain.yml 的 responses 里没有这条回复。"
                    "请在 domain.yml 的 responses 下添加它（或改正拼写）。",
                )
            )
    for name in sorted(actions):
        if name.startswith("utter_") and not exists(name):
            line = key_line(project.domain_path, name)
            findings.append(
                Finding(
                    "error",
                    "missing_response",
                    domain_file,
                    line,
                    f"domain.yml 的 actions 列出了 {name}，但没有这条回复的文字。",
                )
            )
    for form, spec in (project.domain.get("forms") or {}).items():
        slots = (spec or {}).get("required_slots") or []
        if isinstance(slots, dict):
            slots = list(slots)
        for slot in slots:
            candidates = [f"utter_ask_{form}_{slot}", f"utter_ask_{slot}"]
            custom = [f"action_ask_{form}_{slot}", f"action_ask_{slot}"]
            if not any(exists(c) for c in candidates) and not any(c in actions for c in custom):
                line = key_line(project.domain_path, form)
                findings.append(
                    Finding(
                        "error",
                        "missing_response",
                        domain_file,
                        line,
                        f"表单 {form} 要向旅客询问 {slot}，但没有提问的回复 utter_ask_{slot}"
                        f"（或 utter_ask_{form}_{slot}）。请在 responses 里添加。",
                    )
                )
    return findings


def check_policy_answers(project: Project) -> List[Finding]:
    findings = []
    keys_with_examples = {ex.intent for ex in project.nlu.examples if "/" in ex.intent}
    responses = project.all_responses()
    domain_file = domain_file_rel(project)
    locations = {
        **{r: (domain_file, key_line(project.domain_path, r)) for r in project.domain_responses()},
        **project.nlu.responses,
    }
    for intent in sorted(keys_with_examples):
        answer = f"utter_{intent}"
        if answer not in responses:
            file, line = project.nlu.intent_lines.get(intent, ("data/nlu", 0))
            findings.append(
                Finding(
                    "error",
                    "policy_without_answer",
                    file,
                    line,
                    f"政策问题 {intent} 有例句，但没有对应的答案 {answer}。"
                    f"请在 data/nlu/policy.yml 的 responses 下添加 {answer}。",
                )
            )
    for answer in sorted(r for r in responses if "/" in r):
        intent = answer[len("utter_") :]
        if intent not in keys_with_examples:
            file, line = locations.get(answer, ("data/nlu/policy.yml", 0))
            findings.append(
                Finding(
                    "error",
                    "answer_without_policy",
                    file,
                    line,
                    f"答案 {answer} 没有任何例句问到它（缺少 intent: {intent}），机器人永远不会用到这条答案。"
                    "请添加例句，或删掉这条答案。",
                )
            )
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
                    problem = (
                        "格式应为「词 [词频] [词性]」：词频是整数，词性是小写字母（如 n、v、ns），"
                        "词本身不能有空格"
                    )
                elif word in seen:
                    findings.append(
                        Finding(
                            "warning",
                            "dictionary_duplicate",
                            rel,
                            number,
                            f"词「{word}」在第 {seen[word]} 行已经有了，重复的一行可以删掉。",
                        )
                    )
                else:
                    seen[word] = number
            if problem:
                findings.append(
                    Finding(
                        "error",
                        "dictionary_malformed",
                        rel,
                        number,
                        f"词典这一行「{content}」格式不对：{problem}。",
                    )
                )
    return findings


def check_entities(project: Project) -> List[Finding]:
    findings = []
    known = set(map(str, project.domain.get("entities") or []))
    known |= {next(iter(e)) for e in project.domain.get("entities") or [] if isinstance(e, dict)}
    for ex in project.nlu.examples:
        for entity in ex.entities:
            if entity and entity not in known:
                findings.append(
                    Finding(
                        "error",
                        "entity_not_in_domain",
                        ex.file,
                        ex.line,
                        f"例句「{ex.text}」标注了实体 {entity}，但 domain.yml 的 entities 里没有它。",
                    )
                )
    return findings


def check_synonyms(project: Project) -> List[Finding]:
    findings = []
    seen: Dict[str, Example] = {}
    for ex in project.nlu.synonyms:
        key = normalise(ex.text)
        first = seen.get(key)
        if first is None:
            seen[key] = ex
        elif first.intent != ex.intent:
            findings.append(
                Finding(
                    "error",
                    "synonym_conflict",
                    ex.file,
                    ex.line,
                    f"「{ex.text}」既是 {first.intent} 的同义词（{first.file}:{first.line}），"
                    f"又是 {ex.intent} 的同义词。"
                    "一个说法只能对应一个标准值，请删掉其中一个。",
                )
            )
    return findings


# Sentences the model must never see in training: the held-out test set (the figures of
# `make eval`) and the development set that model variants are compared on while tuning.
UNSEEN_SETS = (
    ("nlu_holdout.yml", "测试集（留出集）"),
    ("nlu_dev.yml", "开发集"),
    ("nlu_dev2.yml", "开发集二"),
    ("nlu_dev3.yml", "开发集三"),
)


def check_holdout(project: Project) -> List[Finding]:
    training = {}
    for ex in project.nlu.examples:
        training.setdefault(normalise(ex.text), ex)
    findings = []
    for name, label in UNSEEN_SETS:
        path = project.root / "tests" / name
        if not path.exists():
            continue
        for ex in load_nlu_file(path, project.rel(path)).examples:
            twin = training.get(normalise(ex.text))
            if twin is not None:
                findings.append(
                    Finding(
                        "error",
                        "holdout_in_training",
                        ex.file,
                        ex.line,
                        f"{label}的句子「{ex.text}」也出现在训练数据 {twin.file}:{twin.line}。"
                        f"{label}必须是模型没见过的句子，否则准确率是假的：请从训练数据里删掉它，"
                        f"或在{label}里换一个新说法。",
                    )
                )
    return findings


def check_cues(project: Project) -> List[Finding]:
    """Examples of an intent the pipeline's IntentCueGuard keeps only with its cue words
    (config.yml): an example without them teaches the model something the guard overrules."""
    config = load_yaml(project.root / "config.yml") if (project.root / "config.yml").exists() else {}
    cues = {}
    for component in config.get("pipeline") or []:
        if str(component.get("name", "")).endswith("IntentCueGuard"):
            cues = {
                intent: re.compile(pattern, re.I) for intent, pattern in (component.get("cues") or {}).items()
            }
    return [
        Finding(
            "warning",
            "example_without_cue",
            ex.file,
            ex.line,
            f"意图 {ex.intent} 的例句「{ex.text}」里没有 config.yml 里为它规定的关键词"
            f"（{cues[ex.intent].pattern}），模型学了也会被拦下：请换一个带这些词的说法，"
            "或者请开发同事把新的说法加进关键词。",
        )
        for ex in project.nlu.examples
        if ex.intent in cues and not cues[ex.intent].search(normalise(ex.text))
    ]


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
    check_cues,
]


# ---------------------------------------------------------------- main


def yaml_problem(error: NluYamlError) -> Finding:
    return Finding(
        "error",
        "yaml_invalid",
        error.file,
        error.line,
        f"这个文件不是正确的 YAML（多半是缩进或冒号的问题），其他检查没法读它：{error.problem}",
    )


def run_checks(root: Path, with_rasa: bool = True) -> List[Finding]:
    findings: List[Finding] = []
    try:
        project = Project(root)
        for check in CHECKS:
            findings.extend(check(project))
    except NluYamlError as error:
        findings.append(yaml_problem(error))
    if with_rasa:
        for finding in run_rasa_validate(root):
            # Rasa repeats some of our checks without file and line: keep ours.
            subject = re.compile(rf"(?<![\w/]){re.escape(finding.subject)}(?![\w/])")
            if finding.code in COVERED_BY_OWN_CHECKS and any(subject.search(f.message) for f in findings):
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
        try:
            total = Counter(ex.intent for ex in Project(root).nlu.examples)
        except NluYamlError:
            total = Counter()
        print(
            f"\n检查完成：{len(total)} 个意图、{sum(total.values())} 条例句；"
            f"{len(errors)} 个错误，{len(warnings)} 个警告。"
        )
        if errors:
            print("有错误：请按上面的文件和行号改正后再运行 make check。改好之前不要训练模型。")
        elif warnings:
            print("只有警告：可以训练，但建议尽快处理。")
    return 1 if errors else 0
