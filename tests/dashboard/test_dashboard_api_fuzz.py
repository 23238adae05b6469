"""Issue #9, "Tests": the OpenAPI document, exercised by a property-based API fuzzer.

Schemathesis reads ``/api/v1/openapi.json`` from the live dashboard and sends
generated requests to every operation with an API token; none may answer
with a server error (5xx). The dashboard talks to the sandbox, with one
account connected, so the account routes reach a real (twin) API.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error

from origincert.sandbox import Sandbox
from tests.dashboard.live import LiveDashboard
from tests.e2e.origin import AGENCY, agency_token

EXAMPLES = 25  # per operation: the whole run stays well under a minute
# POST /doctor starts handshakes to the origin addresses of the sandbox's DNS records,
# which exist only in the test network namespace; its auth is covered by the auth tests.
SKIPPED = {("POST", "/api/v1/doctor")}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Iterator[Sandbox]:
    sb = Sandbox.start(AGENCY, state_dir=tmp_path_factory.mktemp("fuzz-sandbox"))
    yield sb
    sb.stop()


@pytest.fixture
def fuzzed(live, sandbox) -> tuple[LiveDashboard, str]:
    dashboard = live(sandbox.base_url)
    token, _ = dashboard.app.state.dashboard.users.create_token("fuzzer")
    with dashboard.client() as client:
        connected = client.post("/api/v1/accounts", headers={"Authorization": f"Bearer {token}"},
                                json={"name": "agency", "token": agency_token("full access")})
        assert connected.status_code == 201, connected.text
    return dashboard, token


def test_no_api_operation_answers_a_server_error(fuzzed):
    dashboard, token = fuzzed
    schema = schemathesis.openapi.from_url(f"{dashboard.url}/api/v1/openapi.json")
    headers = {"Authorization": f"Bearer {token}"}
    checked = []

    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck),
                  phases=[Phase.explicit, Phase.generate, Phase.shrink])
        def fuzz(case) -> None:  # type: ignore[no-untyped-def]
            case.call_and_validate(base_url=dashboard.url, headers=headers,
                                   checks=[not_a_server_error])

        fuzz()
        checked.append(f"{operation.method.upper()} {operation.path}")

    assert len(checked) >= 12, checked
