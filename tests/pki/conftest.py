"""Fixtures: one RSA and one ECC test root per session."""

from __future__ import annotations

import pytest
from cryptography import x509
from pki_factory import make_root

from origincert.pki.keys import PrivateKey, generate_key


@pytest.fixture(scope="session")
def rsa_root() -> tuple[x509.Certificate, PrivateKey]:
    key = generate_key("rsa")
    return make_root(key, "Test Origin RSA CA"), key


@pytest.fixture(scope="session")
def ecc_root() -> tuple[x509.Certificate, PrivateKey]:
    key = generate_key("ecdsa")
    return make_root(key, "Test Origin ECC CA"), key
