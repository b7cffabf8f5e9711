"""A copy of the assistant's project as the trainers' tools see it: NLU data, domain, rules and stories.

Files and lines come from ruamel's round-trip loader (`.lc`), like the NLU data's
(trainer/nlu_data.py): no line-by-line scanning of YAML text."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterator, List, Set, Tuple

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from trainer.nlu_data import load_nlu, relative, yaml_files

STEP_KEYS = ("intent", "action")


def load_yaml(path: Path):
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8")) or {}


def _load_with_lines(path: Path) -> Any:
    """The document with ruamel's line data (`.lc`); None when it is not valid YAML (the
    data check reports that through Rasa's validator)."""
    return _parse_with_lines(path.read_text(encoding="utf-8"))


def _parse_with_lines(text: str) -> Any:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = True
    try:
        return yaml.load(text)
    except YAMLError:
        return None


def _nodes(node: Any) -> Iterator[Tuple[Any, Any, int]]:
    """(container, key or index, 1-based line) of every key and list item, in document order."""
    if isinstance(node, CommentedMap):
        for key, value in node.items():
            yield node, key, node.lc.key(key)[0] + 1
            yield from _nodes(value)
    elif isinstance(node, CommentedSeq):
        for index, value in enumerate(node):
            yield node, index, node.lc.item(index)[0] + 1
            yield from _nodes(value)


def key_line(path: Path, key: str) -> int:
    """First line of `path` that names `key` (as a key or a list item); 0 if none."""
    return _first_lines(path.read_text(encoding="utf-8")).get(key, 0)


@lru_cache(maxsize=16)
def _first_lines(text: str) -> Dict[str, int]:
    """Every key and list item of a document -> the first line naming it. Cached by the text:
    the data check asks for the line of each of the domain's ~90 responses, and a round-trip
    parse of the domain takes a quarter of a second."""
    first: Dict[str, int] = {}
    for container, at, line in _nodes(_parse_with_lines(text)):
        name = str(at) if isinstance(container, CommentedMap) else str(container[at]).strip()
        first[name] = min(line, first.get(name, line))
    return first


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
        """(kind, value, file, line) for every `intent:` / `action:` step in rules and stories
        (inside `or:` blocks too), in file order."""
        steps = []
        for path in self.story_files:
            for container, key, line in _nodes(_load_with_lines(path)):
                value = container[key] if isinstance(container, CommentedMap) else None
                if key in STEP_KEYS and isinstance(value, str) and value.strip():
                    steps.append((str(key), value.strip(), self.rel(path), line))
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
