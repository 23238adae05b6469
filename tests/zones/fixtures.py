"""Fixtures of the zone and harden tests: a sandbox with its edge, servers' folders.

Each folder's conftest imports them (one sandbox per folder)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from origincert.sandbox import Sandbox
from tests.zones.stage import start_edge_sandbox


@pytest.fixture(scope="session")
def edge_sandbox(tmp_path_factory) -> Iterator[Sandbox]:
    sb = start_edge_sandbox(tmp_path_factory.mktemp("zones-sandbox"))
    yield sb
    sb.stop()


@pytest.fixture(scope="module")
def sb(edge_sandbox: Sandbox) -> Sandbox:
    """The shared sandbox, back to agency.json for each module (edge ports kept)."""
    edge_sandbox.reset()
    return edge_sandbox


@pytest.fixture(scope="module")
def home() -> Iterator[Path]:
    """A folder the servers' workers may read (pytest's tmp folders are 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="oc-zones-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)
