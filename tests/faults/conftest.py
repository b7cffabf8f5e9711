"""One scaled-out stack for the fault tests (tests/faults/stack.py), started once per run.

Not part of `make test`: `make test-faults` (docs/scale.md says how long it takes). It uses the
newest trained model (`scripts/train_model.py --path`, else the newest in models/); it never
trains.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from scripts import run_scale
from tests.faults.stack import Stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir: Path = tmp_path_factory.mktemp("scale")
    running = Stack(workdir, run_scale.model_path(run_scale.scale_environment()))
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture
def healthy(stack: Stack) -> Stack:
    """The stack with every piece running, whatever the previous test broke."""
    stack.ensure_running()
    return stack
