"""Issue #2 "Done when": the SDK, pointed at the sandbox loaded with agency.json."""

from __future__ import annotations

import cloudflare
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding

from sandbox_helpers import AGENCY, TOKENS, make_csr, private_key


def test_full_access_token_lists_the_three_active_agency_zones(make_client):
    client = make_client(token=TOKENS["full"])

    zones = list(client.zones.list(status="active", account={"id": AGENCY}))

    assert sorted(z.name for z in zones) == ["example.com", "example.net", "example.org"]
    assert all(z.account.id == AGENCY and z.status == "active" for z in zones)


def test_no_ssl_permission_token_is_refused_certificate_creation(make_client):
    client = make_client(token=TOKENS["no_ssl"])

    with pytest.raises(cloudflare.PermissionDeniedError) as caught:
        client.origin_ca_certificates.create(
            csr=make_csr(["shop.example.com"]), hostnames=["shop.example.com"],
            request_type="origin-rsa",
        )

    assert caught.value.status_code == 403
    assert caught.value.body["errors"][0]["code"] == 1016


def test_csr_for_shop_comes_back_signed_by_the_sandbox_root_with_exactly_its_names(
        sb, make_client):
    client = make_client(token=TOKENS["full"])

    issued = client.origin_ca_certificates.create(
        csr=make_csr(["shop.example.com"]), hostnames=["shop.example.com"],
        request_type="origin-rsa", requested_validity=365,
    )

    leaf = x509.load_pem_x509_certificate(issued.certificate.encode())
    root = x509.load_pem_x509_certificate(sb.root_pems()["rsa"].encode())
    root.public_key().verify(leaf.signature, leaf.tbs_certificate_bytes,
                             padding.PKCS1v15(), leaf.signature_hash_algorithm)
    assert leaf.issuer == root.subject
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["shop.example.com"]
    assert leaf.public_key().public_numbers() == private_key("rsa").public_key().public_numbers()
    assert issued.hostnames == ["shop.example.com"]
