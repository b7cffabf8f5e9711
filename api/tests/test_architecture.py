"""No module of the API reaches into another's private (`_name`) names (docs/architecture.md),
and names are imported from the module that defines them, not from one that imports them too.

Modules use each other's public names only, so a module can change its insides without
breaking its neighbours; a test needing a private helper gets it a public name, or tests the
public behaviour that uses it. (The assistant's tests/test_architecture.py checks the same for
the assistant's folders, and which folders may import which, the API's included.)
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

API = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "scripts", "tests")


def private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_imports(source: str) -> Iterator[tuple[int, str]]:
    """(line, what) for every import of a project module's private name or private module."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 0 and module.split(".")[0] not in PACKAGES:
                continue
            where = "." * node.level + module
            for part in module.split("."):
                if private(part):
                    yield node.lineno, f"imports from the private module {where}"
                    break
            for alias in node.names:
                if private(alias.name):
                    yield node.lineno, f"imports {alias.name} from {where}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] in PACKAGES and any(private(part) for part in parts):
                    yield node.lineno, f"imports the private module {alias.name}"


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_imports_another_modules_private_names(package):
    paths = sorted((API / package).rglob("*.py"))
    assert paths, f"no modules under {API / package}"
    wrong = [
        f"{path.relative_to(API)}:{line} {what}"
        for path in paths
        for line, what in private_imports(path.read_text(encoding="utf-8"))
    ]
    assert not wrong, "\n".join(wrong)


def imported_here(source: str) -> set[str]:
    """The names a module binds by importing them (at its top level, `if` and `try` included)."""
    names: set[str] = set()
    body = list(ast.parse(source).body)
    while body:
        node = body.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.If | ast.Try):
            body.extend(ast.iter_child_nodes(node))
        elif isinstance(node, ast.ExceptHandler):
            body.extend(node.body)
    return names


def second_hand_imports(source: str) -> Iterator[tuple[int, str]]:
    """(line, what) for every name taken from a project module that only imports it itself
    (a package's `__init__` may gather its modules' names: it is not a module file)."""
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module):
            continue
        if node.module.split(".")[0] not in PACKAGES:
            continue
        module = API.joinpath(*node.module.split(".")).with_suffix(".py")
        if not module.is_file():
            continue
        theirs = imported_here(module.read_text(encoding="utf-8"))
        for alias in node.names:
            if alias.name in theirs:
                yield node.lineno, f"imports {alias.name} from {node.module}, which imports it from elsewhere"


@pytest.mark.parametrize("package", PACKAGES)
def test_names_are_imported_from_their_home(package):
    wrong = [
        f"{path.relative_to(API)}:{line} {what}"
        for path in sorted((API / package).rglob("*.py"))
        for line, what in second_hand_imports(path.read_text(encoding="utf-8"))
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    "source",
    [
        "from app.crud.tickets import Actor",  # Actor lives in app.core.security
        "from app.crud.tickets import Routing, Actor",
        "from app.crud.tickets import audit",  # a module is taken from its package
    ],
)
def test_the_check_sees_a_second_hand_import(source):
    assert list(second_hand_imports(source))


@pytest.mark.parametrize(
    "source",
    [
        "from app.core.security import Actor",
        "from app.crud.tickets import Routing",
        "from app.models import AuditLog",  # a package gathering its modules' names
        "from app.crud import audit",
    ],
)
def test_the_check_passes_imports_from_home(source):
    assert not list(second_hand_imports(source))


@pytest.mark.parametrize(
    "source",
    [
        "from app.main import _install",
        "from app.main import public, _install as install",
        "from tests.conftest import _login",
        "from scripts.bench import _run",
        "from . import _helper",
        "from .audit import _text",
        "from app.services._impl import thing",
        "import app.core._secret",
        "def f():\n    from app.crud.audit import _text\n",
    ],
)
def test_the_check_sees_a_private_import(source):
    assert list(private_imports(source))


@pytest.mark.parametrize(
    "source",
    [
        "from app.main import create_app",
        "from app import __version__",
        "from app.crud import audit",
        "from sqlalchemy.orm import _typing",  # another project's privates are its business
        "import app.core.security",
    ],
)
def test_the_check_passes_public_imports(source):
    assert not list(private_imports(source))
