"""Issue #9: ``origincert serve`` stays on loopback unless told, warns when exposed in
clear, and ``--create-token`` prints a working API token once, storing only its digest."""

from __future__ import annotations

import subprocess
import sys

import pytest

from origincert.cli.serve import exposure_warning
from origincert.dashboard.users import DB_NAME, Users
from origincert.state.paths import StatePaths
from tests.e2e.origin import clean_env


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_needs_no_warning(host):
    assert exposure_warning(host, tls=False) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.7", "dashboard.example"])
def test_an_exposed_dashboard_without_tls_is_warned_about(host):
    assert "without TLS" in exposure_warning(host, tls=False)
    assert exposure_warning(host, tls=True) is None


def test_the_default_host_is_loopback():
    run = subprocess.run([sys.executable, "-m", "origincert", "serve", "--help"],
                         capture_output=True, text=True, env=clean_env(), check=False)
    assert run.returncode == 0, run.stderr
    assert "127.0.0.1" in run.stdout


def test_create_token_prints_it_once_and_stores_its_digest(tmp_path):
    state = tmp_path / "state"
    run = subprocess.run([sys.executable, "-m", "origincert", "--state-dir", str(state),
                          "serve", "--create-token", "deploy"],
                         capture_output=True, text=True, env=clean_env(), check=False)
    assert run.returncode == 0, run.stderr
    token = run.stdout.strip().splitlines()[-1]
    assert token.startswith("ocd_")

    users = Users(StatePaths(state))
    try:
        assert users.token_principal(token).name == "deploy"
        assert users.token_principal(token + "x") is None
    finally:
        users.close()
    stored = b"".join(p.read_bytes() for p in state.glob(DB_NAME + "*"))
    assert token.encode() not in stored
