"""Fixtures of the dashboard tests: a live dashboard over a fixture nginx tree."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from origincert.dashboard.limits import LoginLimiter
from tests.dashboard.live import Client, LiveDashboard, config_for, home_for
from tests.servers.nginx_tree import NginxTree


@pytest.fixture
def live(tmp_path) -> Iterator[Callable[..., LiveDashboard]]:
    """Start a dashboard over a copy of the debian-wordpress tree (nginx not started:
    ``dashboard.tree.start()`` does, in the test network namespace)."""
    started: list[LiveDashboard] = []

    def start(api_base: str | None = None, *, limiter: LoginLimiter | None = None,
              tree: str = "debian-wordpress", **overrides: object) -> LiveDashboard:
        built = NginxTree.build(tree, tmp_path / f"tree{len(started)}")
        home = home_for(built, tmp_path / f"home{len(started)}")
        dashboard = LiveDashboard(config_for(home, api_base, limiter=limiter, **overrides),
                                  built)
        started.append(dashboard)
        return dashboard

    yield start
    for dashboard in started:
        dashboard.stop()
        dashboard.tree.stop()  # if the test started its nginx


@pytest.fixture
def dashboard(live) -> LiveDashboard:
    return live()


@pytest.fixture
def admin(dashboard: LiveDashboard) -> Iterator[Client]:
    """A client logged in as the admin, after the first-run setup."""
    with dashboard.client() as client:
        assert client.setup().status_code == 303
        assert client.login().status_code == 303
        yield client
