"""Temporary copies of the project for the trainer-workflow tests."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable, List

import pytest

from trainer import check as check_data

ROOT = Path(__file__).resolve().parents[2]

# What a trainer's copy needs: data, domain, config, the holdout, the scripts, the
# trainers' tools, the custom NLU components the config names and the shared servicekit
# (its text converter is the normaliser's).
PROJECT_PARTS = [
    "servicekit.py",
    "config.yml",
    "domain.yml",
    "endpoints.yml",
    "data",
    "tests/nlu_holdout.yml",
    "tests/nlu_dev.yml",
    "tests/nlu_dev2.yml",
    "tests/nlu_dev3.yml",
    "scripts",
    "trainer",
    "bot",
]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: trains a model (minutes); still part of make test")


def copy_project(target: Path) -> Path:
    for part in PROJECT_PARTS:
        source = ROOT / part
        if not source.exists():
            continue
        destination = target / part
        destination.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, destination, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, destination)
    return target


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


@pytest.fixture
def findings() -> Callable[[Path], List[check_data.Finding]]:
    def run(root: Path) -> List[check_data.Finding]:
        return check_data.run_checks(root, with_rasa=False)

    return run


def append(path: Path, text: str) -> int:
    """Appends text to a file; returns the line number of the first appended line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    before = path.read_text(encoding="utf-8") if path.exists() else ""
    if before and not before.endswith("\n"):
        before += "\n"
    path.write_text(before + text, encoding="utf-8")
    return before.count("\n") + 1


def add_domain_intent(root: Path, intent: str) -> None:
    domain = root / "domain.yml"
    text = domain.read_text(encoding="utf-8")
    domain.write_text(text.replace("intents:\n", f"intents:\n  - {intent}\n", 1), encoding="utf-8")


def add_domain_response(root: Path, name: str, text: str) -> None:
    domain = root / "domain.yml"
    content = domain.read_text(encoding="utf-8")
    domain.write_text(
        content.replace("responses:\n", f'responses:\n  {name}:\n    - text: "{text}"\n', 1), encoding="utf-8"
    )
