"""Which folder may import which (docs/architecture.md), and no reaching into privates.

The assistant's two processes share one environment but not code: `bot/` is loaded by
the Rasa server, `actions/` by the action server; both reach the ticketing API (`api/`,
another environment) only over HTTP. Inside a folder, modules use each other's public
names only, so a module can change its insides without breaking its neighbours.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator, Tuple

import pytest

from tests.services import ROOT

# folder -> project folders it must not import
FORBIDDEN = {
    "actions": {"bot", "api", "scripts", "tests"},
    "bot": {"actions", "api", "scripts", "tests"},
    # scripts start the real services with the test harness (tests/services.py)
    "scripts": {"actions", "api"},
    # the trainers' tools reach the bot through a trained model and the services, never its code:
    # importing `bot` loads Rasa-side code (the server applies its patches in bot/serve.py)
    "trainer": {"actions", "api", "bot"},
    # the assistant's tests reach the ticketing API over HTTP only (its code is `app`, in api/)
    "tests": {"api", "app"},
    # the ticketing API is its own service and environment: nothing of the assistant
    "api/app": {"actions", "bot", "scripts", "trainer"},
    "api/scripts": {"actions", "bot", "trainer"},  # (`scripts` there is the API's own package)
    "api/tests": {"actions", "bot", "trainer"},  # (`tests` there is the API's own package)
}
PROJECT = {"actions", "bot", "api", "scripts", "tests", "trainer"}
# Where no module may edit sys.path: commands run as `python -m` from their project's root.
NO_SYS_PATH = ["actions", "bot", "scripts", "tests", "trainer", "api/app", "api/scripts", "api/tests"]
SYS_PATH_PENDING: set = set()


def imports(folder: str) -> Iterator[Tuple[Path, int, str, Tuple[str, ...]]]:
    for path in sorted((ROOT / folder).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                yield path, node.lineno, node.module, tuple(a.name for a in node.names)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    yield path, node.lineno, alias.name, ()


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_folders_import_only_what_they_may(folder):
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path, line, module, _ in imports(folder)
        if module.split(".")[0] in FORBIDDEN[folder]
    ]
    assert not wrong, "\n".join(wrong)


# api/tests/test_architecture.py holds the same rule for the ticketing API's folders.
@pytest.mark.parametrize("folder", ["actions", "bot", "scripts", "tests", "trainer"])
def test_no_module_imports_another_modules_private_names(folder):
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {name} from {module}"
        for path, line, module, names in imports(folder)
        if module.split(".")[0] in PROJECT
        for name in names
        if name.startswith("_") and not name.startswith("__")
    ]
    assert not wrong, "\n".join(wrong)


def sys_path_edits(folder: str) -> Iterator[str]:
    for path in sorted((ROOT / folder).rglob("*.py")):
        if str(path.relative_to(ROOT)) in SYS_PATH_PENDING:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "path"
                and isinstance(node.value, ast.Name)
                and node.value.id == "sys"
            ):
                yield f"{path.relative_to(ROOT)}:{node.lineno} uses sys.path"


@pytest.mark.parametrize("folder", NO_SYS_PATH)
def test_no_module_edits_sys_path(folder):
    wrong = list(sys_path_edits(folder))
    assert not wrong, "\n".join(wrong)
