"""Newcomer mistakes at `account add` that need no API at all: one line each."""

from __future__ import annotations

import socket
import subprocess
import sys

from origincert.files import write_atomic
from tests.e2e.origin import clean_env


def _add(tmp_path, token_file, api_base):  # type: ignore[no-untyped-def]
    argv = [sys.executable, "-m", "origincert", "--state-dir", str(tmp_path / "state"),
            "account", "add", "agency", "--token-file", str(token_file),
            "--api-base", api_base]
    return subprocess.run(argv, env=clean_env(), capture_output=True, text=True, timeout=120)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the block ends


def test_an_api_that_does_not_answer_is_named_with_what_to_check(tmp_path):
    token = tmp_path / "token"
    write_atomic(token, "sandbox-token-full-access-00000000000001\n", mode=0o600)

    run = _add(tmp_path, token, f"http://127.0.0.1:{_closed_port()}/client/v4")

    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "the API did not answer" in lines[0]
    assert "CLOUDFLARE_BASE_URL" in lines[0]


def test_an_empty_token_file_is_named_as_empty(tmp_path):
    token = tmp_path / "token"
    write_atomic(token, "\n", mode=0o600)

    run = _add(tmp_path, token, "http://127.0.0.1:9/client/v4")

    assert run.returncode == 2
    assert f"{token} is empty" in run.stderr
