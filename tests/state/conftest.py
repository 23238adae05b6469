"""Fixtures: a fresh state folder per test, opened as a real SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from state_factory import Clock

from origincert.state.db import Store
from origincert.state.paths import StatePaths


@pytest.fixture()
def paths(tmp_path: Path) -> StatePaths:
    return StatePaths(tmp_path / "state", tmp_path / "etc", env={})


@pytest.fixture()
def clock() -> Clock:
    return Clock(datetime(2025, 3, 1, 12, 0, tzinfo=UTC))


@pytest.fixture()
def store(paths: StatePaths, clock: Clock) -> Iterator[Store]:
    with Store(paths, clock=clock) as opened:
        yield opened
