"""Fixtures of the accounts tests: a sandbox over real HTTP, the CLI as a subprocess.

Every credential of ``shared/fixtures/zones/agency.json`` is named here once; the
tests read the values from this table and never from the product.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from origincert.sandbox import Sandbox, SandboxSettings


def _repo_root() -> Path:
    here = Path(__file__).resolve()
    return next(p for p in here.parents if (p / "pyproject.toml").exists())


SHARED = Path(os.environ.get("ORIGINCERT_SHARED") or _repo_root().parent / "shared")
AGENCY = SHARED / "fixtures" / "zones" / "agency.json"


def agency() -> dict:
    return json.loads(AGENCY.read_text())


def token_value(name: str) -> str:
    return next(t["value"] for t in agency()["tokens"] if t["name"] == name)


def global_key(email: str) -> str:
    return next(u["global_api_key"] for u in agency()["users"] if u["email"] == email)


@dataclass
class Done:
    args: tuple[str, ...]
    code: int
    out: str
    err: str

    def json(self):  # type: ignore[no-untyped-def]
        return json.loads(self.out)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a CLI run: no CLOUDFLARE_* of the developer's (fact sheet §0 #4)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDFLARE_")}
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def sandbox_state(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("accounts-sandbox")


@pytest.fixture(scope="session")
def shared_sandbox(sandbox_state: Path):
    sb = Sandbox.start(AGENCY, state_dir=sandbox_state)
    yield sb
    sb.stop()


@pytest.fixture
def sb(shared_sandbox: Sandbox) -> Sandbox:
    shared_sandbox.reset(SandboxSettings())
    return shared_sandbox


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def cli(state_dir: Path, tmp_path: Path) -> Callable[..., Done]:
    """Run ``python -m origincert --state-dir STATE ARGS...`` and keep what it said."""
    config_dir = tmp_path / "config"

    def run(*args: str, stdin: str | None = None, env: dict[str, str] | None = None,
            options: tuple[str, ...] = ()) -> Done:
        argv = [sys.executable, "-m", "origincert", "--state-dir", str(state_dir),
                "--config-dir", str(config_dir), *options, *args]
        done = subprocess.run(argv, input=stdin, capture_output=True, text=True,
                              env=env or clean_env(), timeout=120, check=False)
        return Done(tuple(args), done.returncode, done.stdout, done.stderr)

    return run


@pytest.fixture
def secret_file(tmp_path: Path) -> Callable[[str], Path]:
    """Write a secret to a 0600 file, as a user would before --token-file/--key-file."""
    count = [0]

    def write(value: str) -> Path:
        count[0] += 1
        path = tmp_path / f"secret{count[0]}"
        path.write_text(value)
        path.chmod(0o600)
        return path

    return write
