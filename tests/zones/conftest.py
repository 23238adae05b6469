"""The zone tests share the edge sandbox fixtures (tests/zones/fixtures.py)."""

from tests.zones.fixtures import edge_sandbox, home, sb  # noqa: F401
