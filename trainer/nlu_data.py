"""The one loader of NLU YAML files for the trainers' tools, with file and line of every example.

Rasa's own loader drops line numbers; ruamel.yaml's round-trip mode keeps them
(`.lc`), so every message can name the line a trainer has to open.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from trainer.text import strip_annotations

# "    - 例句" inside an `examples: |` block; the text is what follows "- ".
EXAMPLE_LINE = re.compile(r"^\s*-\s?(.*)$")


@dataclass
class Example:
    intent: str  # the intent, or the value of a synonym
    raw: str
    text: str  # annotations removed
    file: str
    line: int
    entities: List[str] = field(default_factory=list)


@dataclass
class Entry:
    """One `- intent:` item as written: its line and its `examples` value (a block of text or not)."""

    intent: str
    line: int
    examples: object


@dataclass
class NluData:
    entries: List[Entry] = field(default_factory=list)
    examples: List[Example] = field(default_factory=list)
    intent_lines: Dict[str, Tuple[str, int]] = field(default_factory=dict)
    synonyms: List[Example] = field(default_factory=list)  # intent = synonym value
    responses: Dict[str, Tuple[str, int]] = field(default_factory=dict)  # from responses: sections


class NluYamlError(ValueError):
    """A file that is not valid YAML; `line` is 1-based (0 when unknown)."""

    def __init__(self, file: str, line: int, problem: str) -> None:
        super().__init__(f"{file}:{line}: {problem}")
        self.file, self.line, self.problem = file, line, problem


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = True  # Rasa tolerates them; the check reports what it can
    return yaml


def load_nlu_file(path: Path, rel: str, data: Optional[NluData] = None) -> NluData:
    """Adds the intents' examples, synonyms and `responses:` keys of one file to `data`."""
    data = data if data is not None else NluData()
    try:
        document = _yaml().load(path.read_text(encoding="utf-8"))
    except YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or error
        raise NluYamlError(rel, mark.line + 1 if mark else 0, str(problem)) from error
    if not isinstance(document, dict):
        return data
    for item in document.get("nlu") or []:
        if not isinstance(item, dict):
            continue
        kind = next((k for k in ("intent", "synonym") if k in item), None)
        examples = item.get("examples")
        if kind == "intent":
            data.entries.append(Entry(str(item[kind]).strip(), item.lc.line + 1, examples))
        if kind is None or item[kind] is None:
            continue
        name = str(item[kind]).strip()
        if kind == "intent":
            data.intent_lines.setdefault(name, (rel, item.lc.line + 1))
        if not isinstance(examples, str):
            continue
        # A block scalar's value starts at its "|" line; its first text line is the next one.
        first = item.lc.value("examples")[0] + 2
        for offset, line in enumerate(examples.splitlines()):
            match = EXAMPLE_LINE.match(line)
            if not match:
                continue
            raw = match.group(1).rstrip()
            text, entities = strip_annotations(raw)
            example = Example(name, raw, text, rel, first + offset, entities)
            (data.examples if kind == "intent" else data.synonyms).append(example)
    responses = document.get("responses")
    if isinstance(responses, dict):
        for name in responses:
            if str(name).startswith("utter_"):
                data.responses.setdefault(str(name), (rel, responses.lc.key(name)[0] + 1))
    return data


def yaml_files(folder: Path) -> List[Path]:
    if not folder.exists():
        return []
    return sorted(p for p in folder.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())


def load_nlu(root: Path, folder: Path) -> NluData:
    """Every YAML file under `folder`, file names relative to `root`."""
    data = NluData()
    for path in yaml_files(folder):
        load_nlu_file(path, relative(root, path), data)
    return data


def relative(root: Path, path: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
