"""A copy of the assistant's project as the trainers' tools see it: NLU data, domain, rules and stories."""

from __future__ import annotations

import re
from pathlib import Path
from typing import List, Set, Tuple

from ruamel.yaml import YAML

from trainer.nlu_data import load_nlu, relative, yaml_files

STEP = re.compile(r"^\s*-?\s*(intent|action)\s*:\s*(\S+?)\s*$")


def load_yaml(path: Path):
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8")) or {}


def key_line(path: Path, key: str) -> int:
    """First line of `path` that names `key` (as a key or a list item); 0 if none."""
    pattern = re.compile(rf"^\s*-?\s*{re.escape(key)}\s*:")
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if pattern.match(line) or line.strip() in (f"- {key}", f"-{key}"):
            return number
    return 0


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


class Project:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.nlu = load_nlu(root, root / "data" / "nlu")
        self.domain_path = root / "domain.yml"
        self.domain = load_yaml(self.domain_path) if self.domain_path.exists() else {}
        self.story_files = yaml_files(root / "data" / "rules") + yaml_files(root / "data" / "stories")

    def rel(self, path: Path) -> str:
        return relative(self.root, path)

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
                match = STEP.match(line)
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
