"""One running demo stack per test module (SQLite), torn down afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import RunningStack


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    stack = RunningStack(Path(tmp_path_factory.mktemp("demo")))
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()
