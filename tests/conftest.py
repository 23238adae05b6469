# Shared fixtures and the `servers` marker check (real web servers in a private
# network namespace) live in tests/servers/plugin.py.
pytest_plugins = ["tests.servers.plugin"]
