"""Many certificates under a tight budget, through the sandbox over real HTTP: every
one issued and not one request refused (a 429 blocks a credential for the rest of
the window, §4), whichever rate-limit headers the API sends, or none (unconfirmed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from origincert.cloudflare.budget import Budget
from origincert.cloudflare.bulk import BulkOriginCA, CertificateRequest
from origincert.cloudflare.credential import TOKEN, Credential
from origincert.pki.csr import build_csr, csr_to_pem, request_type_for
from origincert.pki.keys import generate_key
from origincert.sandbox import Sandbox, SandboxSettings
from origincert.secret import Secret

SHARED = Path(os.environ.get("ORIGINCERT_SHARED") or Path(__file__).resolve().parents[3] / "shared")
AGENCY = SHARED / "fixtures" / "zones" / "agency.json"
TOKEN_FULL = "sandbox-token-full-access-00000000000001"
CERTIFICATES, BUDGET = 16, (6, 1.5)  # three windows


def _requests() -> list[CertificateRequest]:
    key = generate_key("ecdsa")
    return [CertificateRequest(csr_to_pem(build_csr(key, [f"s{i}.example.com"])),
                               [f"s{i}.example.com"], request_type_for(key), 5475,
                               "example.com") for i in range(CERTIFICATES)]


@pytest.fixture(scope="module")
def ca_state(tmp_path_factory):  # type: ignore[no-untyped-def]
    return tmp_path_factory.mktemp("sandbox-state")  # the roots are made once


@pytest.mark.parametrize("family", ["ratelimit", "x-ratelimit", "none"])
def test_a_bulk_run_under_a_tight_budget_is_never_refused(ca_state, family):
    settings = SandboxSettings(rate_limit=BUDGET, rate_limit_headers=family)
    with Sandbox.start(AGENCY, state_dir=ca_state, settings=settings) as sb:
        bulk = BulkOriginCA(Credential(TOKEN, Secret(TOKEN_FULL)), base_url=sb.base_url,
                            budget=Budget(*BUDGET), concurrency=8)

        outcomes = bulk.create_many(_requests())

        statuses = [r.status for r in sb.request_log]
    assert [o.error for o in outcomes] == [None] * CERTIFICATES
    assert statuses == [200] * CERTIFICATES and bulk.calls == CERTIFICATES
