"""Origin CA: leaf shape (§10.4), hostname rules, CSR checks, list, get and revoke."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import cloudflare
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtensionOID, NameOID

from sandbox_helpers import OWNER, TOKENS, ZONE_COM, ZONE_ORG, bearer, make_csr

NOW = datetime(2026, 12, 3, 10, 17, 42, 123456, tzinfo=timezone.utc)


def _create(http, names, token="full", kind="rsa", **extra):
    body = {"csr": make_csr(names, kind), "hostnames": names,
            "request_type": f"origin-{kind}", **extra}
    return http.post("certificates", json=body, headers=bearer(token))


def test_rsa_leaf_is_shaped_like_a_real_origin_ca_certificate(sb, make_client):
    sb.settings.clock = lambda: NOW
    names = ["*.example.com", "example.com", "www.shop.example.com"]

    issued = make_client(token=TOKENS["full"]).origin_ca_certificates.create(
        csr=make_csr(names), hostnames=names, request_type="origin-rsa", requested_validity=90)

    leaf = x509.load_pem_x509_certificate(issued.certificate.encode())
    root = x509.load_pem_x509_certificate(sb.root_pems()["rsa"].encode())
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == \
        "CloudFlare Origin Certificate"
    assert leaf.issuer == root.subject and "sandbox" in root.subject.rfc4514_string()
    assert leaf.not_valid_before_utc == NOW.replace(second=0, microsecond=0)
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc == timedelta(days=90)
    assert len(leaf.serial_number.to_bytes(20, "big")) == 20 and issued.id == str(
        leaf.serial_number)
    assert [e.oid for e in leaf.extensions] == [
        ExtensionOID.KEY_USAGE, ExtensionOID.EXTENDED_KEY_USAGE,
        ExtensionOID.BASIC_CONSTRAINTS, ExtensionOID.SUBJECT_KEY_IDENTIFIER,
        ExtensionOID.AUTHORITY_KEY_IDENTIFIER, ExtensionOID.AUTHORITY_INFORMATION_ACCESS,
        ExtensionOID.SUBJECT_ALTERNATIVE_NAME, ExtensionOID.CRL_DISTRIBUTION_POINTS,
    ]
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == names
    assert issued.expires_on == (NOW.replace(second=0, microsecond=0)
                                 + timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert issued.requested_validity == 90 and issued.request_type == "origin-rsa"


def test_ecc_request_is_signed_by_the_ecc_root_with_the_csrs_key(sb, http):
    response = _create(http, ["blog.example.org"], kind="ecc")

    leaf = x509.load_pem_x509_certificate(response.json()["result"]["certificate"].encode())
    root = x509.load_pem_x509_certificate(sb.root_pems()["ecc"].encode())
    root.public_key().verify(leaf.signature, leaf.tbs_certificate_bytes,
                             ec.ECDSA(leaf.signature_hash_algorithm))
    assert isinstance(leaf.public_key(), ec.EllipticCurvePublicKey)
    assert response.json()["result"]["requested_validity"] == 5475  # the default


@pytest.mark.parametrize("kind, request_type", [("rsa", "origin-ecc"), ("ecc", "origin-rsa")])
def test_key_type_must_match_request_type(http, kind, request_type):
    body = {"csr": make_csr(["example.com"], kind), "hostnames": ["example.com"],
            "request_type": request_type}

    response = http.post("certificates", json=body, headers=bearer("full"))

    assert response.status_code == 400


@pytest.mark.parametrize("name", ["*.*.example.com", "foo.*.example.com", "*.com",
                                  "203.0.113.10", "2001:db8::1", "exa mple.com", "", "*"])
def test_hostname_rules_refuse_bad_names(http, name):
    body = {"csr": make_csr(["example.com"]), "hostnames": [name], "request_type": "origin-rsa"}

    response = http.post("certificates", json=body, headers=bearer("full"))

    assert response.status_code == 400, response.text


def test_two_single_level_wildcards_may_coexist(http):
    response = _create(http, ["*.example.com", "*.tenants.example.com"])

    assert response.status_code == 200


def test_at_most_200_hostnames(http):
    names = [f"h{i}.example.com" for i in range(201)]
    body = {"csr": make_csr(["example.com"]), "hostnames": names, "request_type": "origin-rsa"}

    response = http.post("certificates", json=body, headers=bearer("full"))

    assert response.status_code == 400 and "200" in response.json()["errors"][0]["message"]


def test_unicode_hostname_becomes_punycode(http):
    body = {"csr": make_csr(["example.com"]), "hostnames": ["bücher.example.com"],
            "request_type": "origin-rsa"}

    response = http.post("certificates", json=body, headers=bearer("full"))

    assert response.json()["result"]["hostnames"] == ["xn--bcher-kva.example.com"]


def test_hostname_of_another_account_is_refused_with_a_validation_error(http):
    response = _create(http, ["example.io"])

    error = response.json()["errors"][0]
    assert response.status_code == 400 and error["code"] == 1010
    assert error["message"].startswith("Failed to validate requested hostname example.io")


def test_zone_scoped_token_cannot_issue_for_another_zone(http):
    assert _create(http, ["example.org"], token="com_only").status_code == 400


def test_invalid_csr_is_a_content_error_with_permission_and_403_without(http):
    body = {"csr": "-----BEGIN CERTIFICATE REQUEST-----\nnope\n-----END CERTIFICATE "
                   "REQUEST-----\n", "hostnames": ["example.com"], "request_type": "origin-rsa"}

    allowed = http.post("certificates", json=body, headers=bearer("minimal"))
    refused = http.post("certificates", json=body, headers=bearer("no_ssl"))
    read_only = http.post("certificates", json=body, headers=bearer("read_only"))

    assert allowed.status_code == 400
    assert refused.status_code == 403 and refused.json()["errors"][0]["code"] == 1016
    assert read_only.status_code == 403


def test_bad_validity_and_request_type_are_400(http):
    assert _create(http, ["example.com"], requested_validity=14).status_code == 400
    assert _create(http, ["example.com"], request_type="keyless-certificate").status_code == 400


def test_global_api_key_can_issue(http):
    body = {"csr": make_csr(["example.io"]), "hostnames": ["example.io"],
            "request_type": "origin-rsa"}
    headers = {"X-Auth-Email": OWNER[0], "X-Auth-Key": OWNER[1]}

    assert http.post("certificates", json=body, headers=headers).status_code == 200


def test_list_needs_zone_id_1012(make_client):
    client = make_client(token=TOKENS["full"])

    with pytest.raises(cloudflare.BadRequestError) as caught:
        client.get("/certificates", cast_to=object)

    assert caught.value.body["errors"][0]["code"] == 1012


def test_revoked_certificate_leaves_the_list_and_shows_revoked_at(sb, make_client):
    client = make_client(token=TOKENS["full"])
    keep = client.origin_ca_certificates.create(
        csr=make_csr(["example.com"]), hostnames=["example.com"], request_type="origin-rsa")
    drop = client.origin_ca_certificates.create(
        csr=make_csr(["www.example.com"]), hostnames=["www.example.com"],
        request_type="origin-rsa")

    revoked = client.origin_ca_certificates.delete(drop.id)
    listed = [c.id for c in client.origin_ca_certificates.list(zone_id=ZONE_COM)]
    fetched = client.get(f"/certificates/{drop.id}", cast_to=object)

    assert revoked.id == drop.id and revoked.revoked_at is not None
    assert listed == [keep.id]
    assert fetched["result"]["revoked_at"] is not None
    assert client.origin_ca_certificates.get(keep.id).hostnames == ["example.com"]


def test_list_is_per_zone_and_paginated(make_client):
    client = make_client(token=TOKENS["full"])
    for index in range(6):
        name = f"s{index}.example.org"
        client.origin_ca_certificates.create(csr=make_csr([name]), hostnames=[name],
                                             request_type="origin-rsa", requested_validity=7)

    org = list(client.origin_ca_certificates.list(zone_id=ZONE_ORG, per_page=5))
    com = list(client.origin_ca_certificates.list(zone_id=ZONE_COM))

    assert len(org) == 6 and com == []


def test_read_only_token_lists_but_cannot_revoke(make_client):
    issued = make_client(token=TOKENS["full"]).origin_ca_certificates.create(
        csr=make_csr(["example.com"]), hostnames=["example.com"], request_type="origin-rsa")
    reader = make_client(token=TOKENS["read_only"])

    assert [c.id for c in reader.origin_ca_certificates.list(zone_id=ZONE_COM)] == [issued.id]
    with pytest.raises(cloudflare.PermissionDeniedError):
        reader.origin_ca_certificates.delete(issued.id)


def test_seven_day_certificate_follows_the_injected_clock(sb, make_client):
    sb.settings.clock = lambda: NOW
    issued = make_client(token=TOKENS["full"]).origin_ca_certificates.create(
        csr=make_csr(["example.com"]), hostnames=["example.com"], request_type="origin-rsa",
        requested_validity=7)

    stored = sb.world.certificates[issued.id]

    assert stored.expires_on == NOW.replace(second=0, microsecond=0) + timedelta(days=7)
