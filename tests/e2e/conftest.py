"""Fixtures of the end-to-end tests: one sandbox, origins built from fixture trees."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from origincert.sandbox import Sandbox
from tests.e2e.origin import AGENCY, Origin
from tests.servers.nginx_tree import NginxTree


@pytest.fixture(scope="session")
def e2e_sandbox(tmp_path_factory) -> Iterator[Sandbox]:
    """The sandbox over real HTTP, loaded with agency.json; roots made once."""
    sb = Sandbox.start(AGENCY, state_dir=tmp_path_factory.mktemp("e2e-sandbox"))
    yield sb
    sb.stop()


@pytest.fixture(scope="module")
def sb(e2e_sandbox: Sandbox) -> Sandbox:
    """The shared sandbox, back to the data file's state for each module."""
    e2e_sandbox.reset()
    return e2e_sandbox


@pytest.fixture(scope="module")
def make_origin(tmp_path_factory) -> Iterator[Callable[..., Origin]]:
    """Build an origin from a fixture tree (by name or source folder) and start its nginx.

    Every nginx started is stopped when the module ends (or when the next one starts:
    the trees listen on the same ports).
    """
    started: list[Origin] = []

    def build(name: str, source=None) -> Origin:  # type: ignore[no-untyped-def]
        for running in started:
            running.tree.stop()
        home = tmp_path_factory.mktemp(f"origin-{name}")
        tree = NginxTree.build(name, home / "tree", source)
        tree.start()
        origin = Origin(tree, home)
        started.append(origin)
        return origin

    yield build
    for origin in started:
        origin.tree.stop()
