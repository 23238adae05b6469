"""C27: every wrong-file-in-the-slot variant is named precisely."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from pki_factory import make_leaf

from origincert.pki.certificate import paths_swapped, slot_problem, sniff
from origincert.pki.csr import build_csr
from origincert.pki.keys import generate_key, key_to_pem
from origincert.pki.roots import cloudflare_roots

PEM = serialization.Encoding.PEM
DER = serialization.Encoding.DER


@pytest.fixture()
def material(rsa_root):  # noqa: ANN001, ANN201
    root, root_key = rsa_root
    key = generate_key()
    leaf = make_leaf(root, root_key, key, ["example.com", "*.example.com"])
    return {"root": root, "key": key, "leaf": leaf}


def test_a_leaf_certificate_fits_the_certificate_slot(material) -> None:  # noqa: ANN001
    found = sniff(material["leaf"].public_bytes(PEM))
    assert found.kind == "certificate"
    assert found.description == "a certificate for example.com, *.example.com"
    assert slot_problem(found, "certificate") is None
    assert "not a private key" in slot_problem(found, "key")


def test_a_key_in_the_certificate_slot_and_a_swap(material) -> None:  # noqa: ANN001
    key_file = sniff(key_to_pem(material["key"]))
    cert_file = sniff(material["leaf"].public_bytes(PEM))
    assert key_file.kind == "private-key"
    assert "private key, not a certificate" in slot_problem(key_file, "certificate")
    assert slot_problem(key_file, "key") is None
    assert paths_swapped(key_file, cert_file) is True
    assert paths_swapped(cert_file, key_file) is False


def test_a_traditional_rsa_key_is_a_private_key() -> None:
    key = generate_key("rsa")
    pem = key.private_bytes(
        PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    assert pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    assert sniff(pem).kind == "private-key"


def test_a_csr_in_the_certificate_slot() -> None:
    csr = build_csr(generate_key(), ["example.com"])
    found = sniff(csr.public_bytes(PEM))
    assert found.kind == "csr"
    assert slot_problem(found, "certificate") == (
        "this is a certificate signing request (CSR), not a certificate"
    )


def test_the_origin_ca_root_in_the_certificate_slot() -> None:
    found = sniff(cloudflare_roots()[0].public_bytes(PEM))
    assert found.kind == "ca-certificate"
    assert found.description == "the Cloudflare Origin CA root certificate"
    assert "not your site's certificate" in slot_problem(found, "certificate")


def test_a_der_certificate_in_the_certificate_slot(material) -> None:  # noqa: ANN001
    found = sniff(material["leaf"].public_bytes(DER))
    assert found.kind == "der-certificate"
    assert "expects PEM" in slot_problem(found, "certificate")


def test_a_pkcs7_bundle_in_der_and_pem(material) -> None:  # noqa: ANN001
    certs = [material["leaf"], material["root"]]
    der = pkcs7.serialize_certificates(certs, DER)
    pem = pkcs7.serialize_certificates(certs, PEM)
    for data in (der, pem):
        found = sniff(data)
        assert found.kind == "pkcs7"
        assert "PKCS#7" in slot_problem(found, "certificate")


def test_a_bundle_with_the_ca_first(material) -> None:  # noqa: ANN001
    data = material["root"].public_bytes(PEM) + material["leaf"].public_bytes(PEM)
    found = sniff(data)
    assert found.kind == "ca-first-bundle"
    assert found.certificates == 2
    assert "put the site's certificate first" in slot_problem(found, "certificate")


def test_a_bundle_with_the_leaf_first_is_fine(material) -> None:  # noqa: ANN001
    data = material["leaf"].public_bytes(PEM) + material["root"].public_bytes(PEM)
    found = sniff(data)
    assert found.kind == "certificate"
    assert found.certificates == 2


def test_stray_text_before_the_pem_and_a_key_inside_the_cert_file(material) -> None:  # noqa: ANN001
    data = b"Here is your cert:\n" + material["leaf"].public_bytes(PEM) + key_to_pem(
        material["key"]
    )
    found = sniff(data)
    assert found.kind == "certificate"
    assert found.junk_before is True
    assert found.contains_key is True


def test_der_key_encrypted_key_empty_and_garbage() -> None:
    key = generate_key()
    der_key = key.private_bytes(
        DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    locked = key.private_bytes(
        PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw")
    )
    assert sniff(der_key).kind == "der-private-key"
    assert "passphrase" in slot_problem(sniff(locked), "key")
    assert sniff(b"  \n").kind == "empty"
    assert sniff(b"\x00\x01garbage").kind == "garbage"
    assert sniff(b"hello world").kind == "garbage"
    assert "not a certificate" in slot_problem(sniff(b"hello world"), "certificate")
