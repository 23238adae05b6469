"""The Cloudflare Origin CA roots, bundled with the package.

The PEM files are copied from the fact sheet (cloudflare-api.md §10.1, §10.2);
their SHA-256 fingerprints are pinned here and checked on load, so a damaged or
swapped file is caught instead of silently trusting something else. The
Authenticated Origin Pull CA (§10.3) is not an Origin CA root and is not here.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from cryptography import x509

from origincert.errors import StateError
from origincert.pki.certificate import fingerprint_sha256

RSA_ROOT_FILE = "origin_ca_rsa_root.pem"
ECC_ROOT_FILE = "origin_ca_ecc_root.pem"

ROOT_FINGERPRINTS = {
    RSA_ROOT_FILE: "d3c7e85c91707fc0a12abc5d88266747aa4fa8e7b162f633ffb3c9d989947620",
    ECC_ROOT_FILE: "aa63697a22764b67b2134ce14cb5690ea336940b93986113f49545917832d80d",
}

_FILE_FOR_REQUEST_TYPE = {"origin-rsa": RSA_ROOT_FILE, "origin-ecc": ECC_ROOT_FILE}


def cloudflare_roots() -> list[x509.Certificate]:
    """Both Origin CA roots: RSA first, then ECC."""
    return [_load_root(RSA_ROOT_FILE), _load_root(ECC_ROOT_FILE)]


def root_for(request_type: str) -> x509.Certificate:
    """The root that signs leaves of ``request_type`` ("origin-rsa" or "origin-ecc")."""
    try:
        return _load_root(_FILE_FOR_REQUEST_TYPE[request_type])
    except KeyError as err:
        raise ValueError(f"no Origin CA root for request type {request_type!r}") from err


@cache
def _load_root(filename: str) -> x509.Certificate:
    data = resources.files("origincert.pki").joinpath("data", filename).read_bytes()
    cert = x509.load_pem_x509_certificate(data)
    if fingerprint_sha256(cert) != ROOT_FINGERPRINTS[filename]:
        raise StateError(
            f"the bundled Cloudflare Origin CA root {filename} is damaged",
            hint="reinstall origincert",
        )
    return cert
