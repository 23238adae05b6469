"""Pytest fixtures and the `servers` marker for tests that run real web servers.

Enable with ``pytest_plugins = ["tests.servers.plugin"]`` in ``tests/conftest.py``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from tests.servers.nginx_tree import NginxTree

NETNS_HELP = (
    "this test runs real web servers on ports 80/443 and on 203.0.113.10: run it as root "
    "under scripts/test-netns (a private network namespace), or set ORIGINCERT_SKIP_SERVERS=1 "
    "to skip it explicitly"
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "servers: needs real web servers in the private network namespace"
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    # Without the namespace these tests would bind the host's ports: fail loudly,
    # unless the developer asked to skip them.
    if item.get_closest_marker("servers") is None:
        return
    if os.environ.get("ORIGINCERT_NETNS") == "1":
        return
    if os.environ.get("ORIGINCERT_SKIP_SERVERS") == "1":
        pytest.skip("ORIGINCERT_SKIP_SERVERS=1: real web server tests skipped")
    pytest.fail(NETNS_HELP, pytrace=False)


@pytest.fixture
def nginx_tree(tmp_path) -> Iterator[Callable[..., NginxTree]]:
    """Build a fixture tree by name, or from {path: text} (not started).

    Every nginx the test started is stopped afterwards.
    """
    built: list[NginxTree] = []

    def build(tree: str | dict[str, str]) -> NginxTree:
        folder = tmp_path / f"tree{len(built)}"
        if isinstance(tree, str):
            made = NginxTree.build(tree, folder)
        else:
            made = NginxTree.from_files(tree, folder)
        built.append(made)
        return made

    yield build
    for made in built:
        made.stop()


@pytest.fixture
def caddy_tree(tmp_path) -> Iterator[Callable[..., object]]:
    """Build the fixture Caddyfile, or a Caddyfile from text, in tmp (not started).

    Every Caddy (and backend) the test started is stopped afterwards.
    """
    from tests.servers.caddy_tree import CaddyTree

    built: list[CaddyTree] = []

    def build(source: str | None = None) -> CaddyTree:
        folder = tmp_path / f"caddy{len(built)}"
        made = CaddyTree.build(folder, None if source is None else source.encode())
        built.append(made)
        return made

    yield build
    for made in built:
        made.stop()


@pytest.fixture
def apache_tree() -> Iterator[Callable[..., object]]:
    """Build the Apache fixture tree, or one from {path: text}, in its own root (not started).

    Keyword options go to ``ApacheTree.build`` (``modules=``). Every Apache the
    test started is stopped and every root removed afterwards.
    """
    from tests.servers.apache_tree import ApacheTree

    built: list[ApacheTree] = []

    def build(tree: str | dict[str, str] = "debian", **options) -> ApacheTree:
        if isinstance(tree, str):
            made = ApacheTree.build(tree, **options)
        else:
            made = ApacheTree.from_files(tree, **options)
        built.append(made)
        return made

    yield build
    for made in built:
        made.cleanup()
