"""Fixtures of the sandbox tests: a running sandbox, clients that check every response
against the OpenAPI contract, and CSR helpers."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable

import cloudflare
import httpx
import pytest

from origincert.sandbox import Sandbox, SandboxSettings

# The helper modules beside this file, also under --import-mode=importlib.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from sandbox_contract import Contract  # noqa: E402


def _repo_root() -> Path:
    here = Path(__file__).resolve()
    return next(p for p in here.parents if (p / "pyproject.toml").exists())


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    override = os.environ.get("ORIGINCERT_SHARED")
    return Path(override) if override else _repo_root().parent / "shared"


@pytest.fixture(scope="session")
def agency_path(shared_dir: Path) -> Path:
    return shared_dir / "fixtures" / "zones" / "agency.json"


@pytest.fixture(scope="session")
def contract(shared_dir: Path) -> Contract:
    return Contract(shared_dir / "cloudflare-openapi-subset.json")


@pytest.fixture(scope="session")
def ca_state(tmp_path_factory) -> Path:
    # One state folder for the session, so the root keys are generated once.
    return tmp_path_factory.mktemp("sandbox-state")


@pytest.fixture
def start_sandbox(agency_path: Path, ca_state: Path):
    """Start sandboxes with custom settings; all are stopped after the test."""
    running: list[Sandbox] = []

    def start(settings: SandboxSettings | None = None, data: Path | None = None,
              state_dir: Path | None = None) -> Sandbox:
        sb = Sandbox.start(data or agency_path, state_dir=state_dir or ca_state,
                           settings=settings)
        running.append(sb)
        return sb

    yield start
    for sb in running:
        sb.stop()


@pytest.fixture(scope="session")
def shared_sandbox(agency_path: Path, ca_state: Path):
    # One server for the session; each test gets it back in the data file's state.
    sb = Sandbox.start(agency_path, state_dir=ca_state)
    yield sb
    sb.stop()


@pytest.fixture
def sb(shared_sandbox: Sandbox) -> Sandbox:
    shared_sandbox.reset(SandboxSettings())
    return shared_sandbox


def _contract_hook(contract: Contract) -> Callable[[httpx.Response], None]:
    def hook(response: httpx.Response) -> None:
        response.read()
        assert response.headers.get("cf-ray", "").endswith("-SBX"), "no cf-ray header"
        body = response.json()
        request = response.request
        contract.check(request.method, request.url.path, response.status_code, body)
    return hook


@pytest.fixture
def http(sb: Sandbox, contract: Contract):
    """A raw HTTP client on the sandbox whose every response is contract-checked."""
    with httpx.Client(base_url=sb.base_url + "/",
                      event_hooks={"response": [_contract_hook(contract)]}) as client:
        yield client


@pytest.fixture
def make_client(sb: Sandbox, contract: Contract, monkeypatch):
    """Build an official SDK client on the sandbox (fact sheet §0 #4: clear CLOUDFLARE_*)."""
    for name in list(os.environ):
        if name.startswith("CLOUDFLARE_"):
            monkeypatch.delenv(name)
    clients: list[httpx.Client] = []

    def build(token: str | None = None, email: str | None = None, key: str | None = None,
              sandbox: Sandbox | None = None) -> cloudflare.Cloudflare:
        http_client = httpx.Client(event_hooks={"response": [_contract_hook(contract)]})
        clients.append(http_client)
        return cloudflare.Cloudflare(
            api_token=token, api_email=email, api_key=key,
            base_url=(sandbox or sb).base_url, http_client=http_client, max_retries=0,
        )

    yield build
    for client in clients:
        client.close()
