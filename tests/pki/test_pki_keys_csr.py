"""Keys made here, CSRs that carry exactly the requested names."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from origincert.errors import HostnameError, UsageError
from origincert.pki import MaterialError
from origincert.pki.csr import build_csr, csr_hostnames, csr_to_pem, request_type_for
from origincert.pki.keys import (
    generate_key,
    key_to_pem,
    key_type_of,
    load_key,
    spki_sha256,
)


def test_default_key_is_ecdsa_p256() -> None:
    key = generate_key()
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert key.curve.name == "secp256r1"
    assert key_type_of(key) == "ecdsa"
    assert request_type_for(key) == "origin-ecc"


def test_rsa_key_is_2048_bits() -> None:
    key = generate_key("rsa")
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 2048
    assert key_type_of(key) == "rsa"
    assert request_type_for(key) == "origin-rsa"


def test_unknown_key_type_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown key type"):
        generate_key("dsa")


@pytest.mark.parametrize("key_type", ["ecdsa", "rsa"])
def test_pem_is_unencrypted_pkcs8_and_round_trips(key_type: str) -> None:
    key = generate_key(key_type)
    pem = key_to_pem(key)
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    again = load_key(pem)
    assert spki_sha256(again) == spki_sha256(key)


def test_load_key_refuses_a_passphrase_and_garbage() -> None:
    key = generate_key()
    locked = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"hunter2"),
    )
    with pytest.raises(MaterialError, match="passphrase"):
        load_key(locked)
    with pytest.raises(MaterialError, match="not a readable private key"):
        load_key(b"hello")


def test_spki_hash_is_equal_for_private_and_public_key() -> None:
    key = generate_key()
    assert spki_sha256(key) == spki_sha256(key.public_key())
    assert len(spki_sha256(key)) == 64


@pytest.mark.parametrize("key_type", ["ecdsa", "rsa"])
def test_csr_contains_exactly_the_sans_in_order(key_type: str) -> None:
    key = generate_key(key_type)
    csr = build_csr(key, ["Example.com", "*.example.com", "bücher.example.com", "example.com"])

    assert csr.is_signature_valid
    assert csr_hostnames(csr) == ["example.com", "*.example.com", "xn--bcher-kva.example.com"]
    common_names = csr.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    assert [cn.value for cn in common_names] == ["example.com"]
    assert spki_sha256(csr.public_key()) == spki_sha256(key)  # type: ignore[arg-type]


def test_csr_pem_has_real_newlines() -> None:
    pem = csr_to_pem(build_csr(generate_key(), ["example.com"]))
    assert pem.startswith("-----BEGIN CERTIFICATE REQUEST-----\n")
    assert "\\n" not in pem


def test_csr_with_a_long_first_name_has_no_cn_but_all_sans() -> None:
    long_name = "a" * 60 + ".example.com"
    csr = build_csr(generate_key(), [long_name])
    assert csr.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME) == []
    assert csr_hostnames(csr) == [long_name]


def test_csr_refuses_bad_names_before_any_api_call() -> None:
    with pytest.raises(HostnameError, match="IP address"):
        build_csr(generate_key(), ["example.com", "203.0.113.10"])
    with pytest.raises(HostnameError, match="no hostnames"):
        build_csr(generate_key(), [])
    with pytest.raises(HostnameError, match="more than one certificate can hold") as caught:
        build_csr(generate_key(), [f"h{i}.example.com" for i in range(201)])
    assert "at most 200" in caught.value.one_line()
