"""Parsing, key matching (C26), SAN coverage (C40), chaining to a root."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from pki_factory import NOW, make_leaf, make_root

from origincert.pki import MaterialError
from origincert.pki.certificate import (
    chains_to,
    colon_hex,
    covers,
    describe,
    load_certificate,
    load_certificates,
    matches_key,
    sans,
)
from origincert.pki.keys import generate_key, spki_sha256

# C40's table, as given in field-cases.md.
C40_SANS = ["*.example.com"]
C40_TABLE = [
    ("example.com", False),
    ("www.example.com", True),
    ("a.example.com", True),
    ("a.b.example.com", False),
    ("WWW.Example.COM", True),
    ("xn--bcher-kva.example.com", True),
]


@pytest.mark.parametrize(("hostname", "expected"), C40_TABLE)
def test_c40_one_level_wildcard_table(hostname: str, expected: bool) -> None:
    assert covers(C40_SANS, hostname) is expected


@pytest.mark.parametrize(
    ("sans_list", "hostname", "expected"),
    [
        (["example.com", "*.example.com"], "example.com", True),
        (["example.com"], "www.example.com", False),
        (["*.example.com"], "bücher.example.com", True),
        (["*.Example.COM"], "shop.example.com", True),
        (["*.example.com"], "example.com.", False),
        (["*.example.com"], "www.example.com.", True),
        (["*.example.com"], "wwwexample.com", False),
        (["*.example.com"], "www.notexample.com", False),
        (["*.shop.example.com"], "a.shop.example.com", True),
        (["*.shop.example.com"], "shop.example.com", False),
        (["*.example.com"], "*.example.com", True),
        (["*.example.com"], "*.a.example.com", False),
        ([], "example.com", False),
        (["*.example.com"], "", False),
    ],
)
def test_covers_more_cases(sans_list: list[str], hostname: str, expected: bool) -> None:
    assert covers(sans_list, hostname) is expected


@pytest.mark.parametrize("key_type", ["ecdsa", "rsa"])
def test_describe_reads_sans_not_cn_and_the_dates(rsa_root, key_type: str) -> None:  # noqa: ANN001
    root, root_key = rsa_root
    leaf_key = generate_key(key_type)
    leaf = make_leaf(root, root_key, leaf_key, ["*.Example.com", "example.com"], days=1095)

    info = describe(leaf)
    assert info.sans == ("*.example.com", "example.com")
    assert info.not_before == NOW
    assert info.not_after == NOW + timedelta(days=1095)
    assert info.key_type == key_type
    assert info.spki_sha256 == spki_sha256(leaf_key)
    assert info.serial_hex == format(leaf.serial_number, "x")
    assert "Test Origin RSA CA" in info.issuer
    assert info.is_ca is False
    assert len(info.fingerprint_sha256) == 64


@pytest.mark.parametrize("key_type", ["ecdsa", "rsa"])
def test_matches_key_by_spki(rsa_root, key_type: str) -> None:  # noqa: ANN001
    root, root_key = rsa_root
    right, wrong = generate_key(key_type), generate_key(key_type)
    leaf = make_leaf(root, root_key, right, ["example.com"])

    assert matches_key(leaf, right) is True
    assert matches_key(leaf, right.public_key()) is True
    assert matches_key(leaf, wrong) is False
    assert matches_key(leaf, generate_key("rsa" if key_type == "ecdsa" else "ecdsa")) is False


def test_load_certificate_reads_pem_der_and_bundles(rsa_root) -> None:  # noqa: ANN001
    root, root_key = rsa_root
    leaf = make_leaf(root, root_key, generate_key(), ["example.com"])
    pem = leaf.public_bytes(serialization.Encoding.PEM)
    der = leaf.public_bytes(serialization.Encoding.DER)
    root_pem = root.public_bytes(serialization.Encoding.PEM)

    assert load_certificate(pem) == leaf
    assert load_certificate(der) == leaf
    assert load_certificate(b"pasted junk\n" + pem) == leaf
    assert load_certificates(pem + root_pem) == [leaf, root]
    assert sans(load_certificate(pem.decode())) == ["example.com"]
    with pytest.raises(MaterialError, match="not a readable certificate"):
        load_certificate(b"not a certificate")


def test_chains_to_its_own_root_only(rsa_root, ecc_root) -> None:  # noqa: ANN001
    rsa_cert, rsa_key = rsa_root
    ecc_cert, ecc_key = ecc_root
    rsa_leaf = make_leaf(rsa_cert, rsa_key, generate_key("rsa"), ["example.com"])
    ecc_leaf = make_leaf(ecc_cert, ecc_key, generate_key("ecdsa"), ["example.com"])

    assert chains_to(rsa_leaf, [rsa_cert, ecc_cert]) is True
    assert chains_to(ecc_leaf, [rsa_cert, ecc_cert]) is True
    assert chains_to(rsa_leaf, [ecc_cert]) is False
    assert chains_to(ecc_leaf, [rsa_cert]) is False
    assert chains_to(rsa_leaf, []) is False


def test_chains_to_refuses_a_look_alike_root_with_another_key(rsa_root) -> None:  # noqa: ANN001
    root, root_key = rsa_root
    impostor_key = generate_key("rsa")
    # Same subject as the real root, different key: the issuer name matches, the signature not.
    impostor = make_root(impostor_key, "Test Origin RSA CA")
    assert impostor.subject == root.subject

    leaf = make_leaf(impostor, impostor_key, generate_key(), ["example.com"])
    assert chains_to(leaf, [root]) is False
    assert chains_to(leaf, [impostor]) is True


def test_colon_hex_matches_openssl_style() -> None:
    assert colon_hex("d3c7e8") == "D3:C7:E8"
