"""Rasa's own data validation (what `rasa data validate` runs), called in process.

Rasa 3.6's `Validator` reports through `warnings.warn` (English text, no codes) and
returns booleans; story conflicts come as `StoryConflict` objects. Each check runs
on its own with the warnings recorded, so a message is known to come from that
check, and only its wording is matched to say it in Chinese. Nothing is read from
log lines.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import warnings
from pathlib import Path
from typing import Callable, List, Optional, Tuple

from trainer.findings import Finding
from trainer.project import load_yaml

SOURCE = "rasa data validate"

# The wording of rasa/validator.py (and Domain's merge warning) -> what it means for a trainer.
RASA_MESSAGES = [
    (
        r"The intent '(.+?)' is not used in any story or rule",
        "warning",
        "rasa_intent_unused",
        "意图 {0} 没有在任何规则或故事中使用。",
    ),
    (
        r"The intent '(.+?)' is listed in the domain file, but is not found in the NLU training data",
        "error",
        "rasa_intent_without_examples",
        "意图 {0} 在 domain.yml 里登记了，但没有任何例句。",
    ),
    (
        r"labeled with intent '(.+?)'\. This intent is not listed in your domain",
        "error",
        "rasa_intent_not_in_domain",
        "意图 {0} 有例句，但没有写进 domain.yml 的 intents。",
    ),
    (
        r"The intent '(.+?)' is used in your stories, but it is not listed in the domain",
        "error",
        "rasa_rule_intent_unknown",
        "规则/故事里的意图 {0} 没有在 domain.yml 里登记。",
    ),
    (
        r"The action '(utter_.+?)' is used in the stories, but is not a valid utterance action",
        "error",
        "rasa_missing_response",
        "规则/故事要机器人说 {0}，但 domain.yml 的 responses 里没有这条回复。",
    ),
    (
        r"The action '(.+?)' is used in the .*but it is not listed in the domain",
        "error",
        "rasa_missing_action",
        "规则/故事用到了动作 {0}，但 domain.yml 的 actions 里没有登记。",
    ),
    (
        r"The form '(.+?)' is used in the .*but it is not listed in the domain",
        "error",
        "rasa_missing_form",
        "规则/故事用到了表单 {0}，但 domain.yml 的 forms 里没有它。",
    ),
    (
        r"The form slot '(.+?)' in form '.+?' is not present in the domain slots",
        "error",
        "rasa_form_slot_missing",
        "表单要填的槽位 {0} 没有在 domain.yml 的 slots 里定义。",
    ),
    (
        r"The utterance '(.+?)' is not used in any story or rule",
        "info",
        "rasa_response_unused",
        "回复 {0} 没有被任何规则或故事使用。",
    ),
    (
        r"The example '(.+?)' was found labeled with multiple different intents",
        "error",
        "rasa_duplicate_example",
        "例句「{0}」被标注在多个不同意图下。",
    ),
    (
        r"duplicated intents have been found across multiple domain files",
        "info",
        "rasa_domain_merge",
        "（政策答案写在 data/nlu/policy.yml，Rasa 把它当作第二个 domain 文件合并，属正常现象。）",
    ),
    (r"The config file is missing", "warning", "rasa_config", "config.yml 缺少必需的设置：{raw}"),
]

# Rasa repeats these checks of ours without file and line: ours are kept.
COVERED_BY_OWN_CHECKS = {
    "rasa_intent_unused",
    "rasa_intent_without_examples",
    "rasa_intent_not_in_domain",
    "rasa_rule_intent_unknown",
    "rasa_missing_response",
    "rasa_duplicate_example",
}


def code_references(root: Path) -> str:
    """Text of the custom actions: a response they send is used even if no rule names it."""
    parts = []
    for path in sorted((root / "actions").rglob("*.py")) if (root / "actions").exists() else []:
        parts.append(path.read_text(encoding="utf-8", errors="ignore"))
    return "\n".join(parts)


class _Errors(logging.Handler):
    """Rasa's ERROR/CRITICAL log records while it validates."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _recorded(step: Callable[[], object]) -> Tuple[object, List[str]]:
    """The step's result and the texts of the user warnings it raised."""
    from rasa.utils.common import EXPECTED_WARNINGS

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # The warnings Rasa's CLI silences as expected (e.g. "Slot auto-fill has been removed").
        for category, pattern in EXPECTED_WARNINGS:
            warnings.filterwarnings("ignore", category=category, message=pattern)
        result = step()
    return result, [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


def validate(root: Path) -> Tuple[bool, List[str], list]:
    """(all good, warning texts, `StoryConflict`s) as `rasa data validate` would find them."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    from rasa.core.training.story_conflict import find_story_conflicts
    from rasa.shared.core.generator import TrainingDataGenerator
    from rasa.shared.importers.importer import TrainingDataImporter
    from rasa.validator import Validator

    data = [str(root / p) for p in ("data/nlu", "data/rules", "data/stories") if (root / p).exists()]
    config = root / "config.yml"
    texts: List[str] = []

    def run(step: Callable[[], object]):
        result, raised = _recorded(step)
        texts.extend(raised)
        return result

    importer = TrainingDataImporter.load_from_config(
        config_path=str(config) if config.exists() else None,
        domain_path=str(root / "domain.yml"),
        training_data_paths=data,
    )
    validator = run(lambda: Validator.from_importer(importer))
    if validator.domain.is_empty():
        return False, texts + ["Encountered empty domain during validation."], []
    # The order and the checks of rasa.cli.utils.validate_files (warnings do not fail it).
    good = all(
        [
            run(validator.verify_domain_validity),
            run(validator.verify_actions_in_stories_rules),
            run(validator.verify_forms_in_stories_rules),
            run(validator.verify_form_slots),
            run(validator.verify_slot_mappings),
            run(lambda: validator.verify_nlu(True)),
        ]
    )
    with contextlib.redirect_stderr(io.StringIO()):  # its progress bar is not for trainers
        trackers = run(
            lambda: TrainingDataGenerator(
                validator.story_graph, domain=validator.domain, remove_duplicates=False, augmentation_factor=0
            ).generate_story_trackers()
        )
    conflicts = list(run(lambda: find_story_conflicts(trackers, validator.domain, None)))
    run(validator.warn_if_config_mandatory_keys_are_not_set)
    return good and not conflicts, texts, conflicts


def run_rasa_validate(root: Path) -> List[Finding]:
    errors = _Errors()
    logging.getLogger().addHandler(errors)
    try:
        good, texts, conflicts = validate(root)
        failure: Optional[str] = None
    except Exception as error:  # noqa: BLE001 - Rasa's loaders raise many kinds for broken YAML
        good, texts, conflicts, failure = False, [], [], f"{type(error).__name__}: {error}"
    finally:
        logging.getLogger().removeHandler(errors)
    actions_code = code_references(root)
    domain = load_yaml(root / "domain.yml") if (root / "domain.yml").exists() else {}
    form_slots = {
        slot
        for spec in (domain.get("forms") or {}).values()
        for slot in ((spec or {}).get("required_slots") or [])
    }
    findings: List[Finding] = []
    seen = set()
    for message in [*texts, *errors.messages]:
        message = " ".join(message.split())
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
                or any(
                    name in (f"utter_ask_{s}",) or name.endswith(f"_{s}") and name.startswith("utter_ask_")
                    for s in form_slots
                )
            ):
                level = "skip"  # sent by a custom action or asked by a form: in use
            if level != "skip":
                text = chinese.format(name, raw=message)
                findings.append(Finding(level, code, SOURCE, 0, text, subject=name))
            break
        else:
            findings.append(
                Finding(
                    "error" if "rror" in message else "warning",
                    "rasa_other",
                    SOURCE,
                    0,
                    f"Rasa 提示：{message}",
                )
            )
    for conflict in conflicts:
        actions = "、".join(sorted(conflict.conflicting_actions))
        findings.append(
            Finding(
                "error",
                "rasa_story_conflict",
                SOURCE,
                0,
                f"规则/故事之间有冲突：对话走到同一步时，不同的故事要机器人做不同的事（{actions}）。"
                f"Rasa 的说明：{' '.join(str(conflict).split())}",
            )
        )
    if not good and not any(f.level == "error" for f in findings):
        detail = failure or (texts[-1] if texts else "Project validation completed with errors.")
        findings.append(
            Finding(
                "error",
                "rasa_failed",
                SOURCE,
                0,
                f"Rasa 的数据校验没有通过（多半是 YAML 缩进或格式错误）：{detail}",
            )
        )
    return findings
