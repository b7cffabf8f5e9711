"""Where the classifier's data and model live, and how the YAML files are read.

The data format is documented in data/complaints/README.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from app.services.taxonomy import Category, Severity

# api/app/services/classifier/data.py -> parents[4] is the repository root.
REPO_ROOT = Path(__file__).resolve().parents[4]
DATA_DIR = REPO_ROOT / "data" / "complaints"
TRAIN_DIR = DATA_DIR / "train"
HELDOUT_FILE = DATA_DIR / "heldout.yml"
DICT_FILE = DATA_DIR / "dict.txt"


def model_dir() -> Path:
    """`CLASSIFIER_MODEL_DIR` overrides the default `<repo>/models/complaint-classifier/`."""
    env = os.environ.get("CLASSIFIER_MODEL_DIR")
    return Path(env) if env else REPO_ROOT / "models" / "complaint-classifier"


@dataclass(frozen=True)
class Example:
    text: str
    category: str
    severity: str
    source: str  # file name, so a trainer can find a bad line


def _check(category: str, severity: str, where: str) -> None:
    if category not in set(Category):
        raise ValueError(f"{where}: unknown category {category!r}")
    if severity not in set(Severity):
        raise ValueError(f"{where}: unknown severity {severity!r}")


def training_files(train_dir: Path = TRAIN_DIR) -> list[Path]:
    return sorted(train_dir.glob("*.yml"))


def load_training(train_dir: Path = TRAIN_DIR) -> list[Example]:
    """One file per category: `category:` and `examples:` (plain string = severity general)."""
    examples: list[Example] = []
    for path in training_files(train_dir):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        category = doc.get("category")
        for i, item in enumerate(doc.get("examples") or []):
            where = f"{path.name} example {i + 1}"
            if isinstance(item, str):
                text, severity = item, Severity.GENERAL.value
            elif isinstance(item, dict) and isinstance(item.get("text"), str):
                text, severity = item["text"], item.get("severity", Severity.GENERAL.value)
            else:
                raise TypeError(f"{where}: expected a string or a mapping with `text`")
            _check(category, severity, where)
            examples.append(Example(text.strip(), category, severity, path.name))
    if not examples:
        raise ValueError(f"no training examples under {train_dir}")
    return examples


def load_heldout(path: Path = HELDOUT_FILE) -> list[Example]:
    """A list of mappings with `text`, `category` and `severity`."""
    items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    examples = []
    for i, item in enumerate(items):
        where = f"{path.name} item {i + 1}"
        _check(item.get("category"), item.get("severity"), where)
        examples.append(Example(item["text"].strip(), item["category"], item["severity"], path.name))
    return examples
