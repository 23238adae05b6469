"""Private keys: ECDSA P-256 by default, RSA 2048 on request.

Keys are made on this machine and leave it only as a public key inside a CSR.
The PEM form is PKCS#8 without a passphrase: the web server must load it
unattended at boot, so the protection is the file mode (0600, set by the state
store at creation), not a password stored next to it.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from origincert.errors import UsageError
from origincert.pki import MaterialError

KeyType = Literal["ecdsa", "rsa"]
KEY_TYPES: tuple[str, ...] = ("ecdsa", "rsa")
DEFAULT_KEY_TYPE: KeyType = "ecdsa"
RSA_BITS = 2048

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey


def generate_key(key_type: str = DEFAULT_KEY_TYPE) -> PrivateKey:
    """A new private key of the given type ("ecdsa" for P-256, "rsa" for RSA 2048)."""
    if key_type == "ecdsa":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    raise UsageError(
        f"unknown key type {key_type!r}",
        hint="use --key-type ecdsa (default) or --key-type rsa",
    )


def key_type_of(key: PrivateKey | PublicKey) -> KeyType:
    """"ecdsa" or "rsa" for a private or public key; anything else is refused."""
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return "ecdsa"
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return "rsa"
    raise MaterialError(
        f"unsupported key algorithm {type(key).__name__}",
        hint="Origin CA certificates use RSA or ECDSA keys",
    )


def key_to_pem(key: PrivateKey) -> bytes:
    """PKCS#8 PEM, unencrypted (see the module note on why)."""
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )


def load_key(data: bytes | str) -> PrivateKey:
    """A private key from PEM (PKCS#8 or traditional) or DER bytes."""
    payload = data.encode() if isinstance(data, str) else data
    try:
        if b"-----BEGIN" in payload:
            key = serialization.load_pem_private_key(payload, password=None)
        else:
            key = serialization.load_der_private_key(payload, password=None)
    except TypeError as err:
        raise MaterialError(
            "the private key is protected by a passphrase",
            hint="web servers load keys unattended; export it without a passphrase",
        ) from err
    except ValueError as err:
        raise MaterialError("this is not a readable private key") from err

    if not isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
        raise MaterialError(
            f"unsupported key algorithm {type(key).__name__}",
            hint="Origin CA certificates use RSA or ECDSA keys",
        )
    return key


def public_key_of(key: PrivateKey | PublicKey) -> PublicKey:
    if isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
        return key.public_key()
    return key


def spki_sha256(key: PrivateKey | PublicKey) -> str:
    """SHA-256 (hex) of the DER SubjectPublicKeyInfo; equal for a key and its certificate.

    Comparing whole SPKIs works for RSA and ECDSA alike (C26), where comparing
    RSA moduli would not.
    """
    der = public_key_of(key).public_bytes(
        encoding=serialization.Encoding.DER,
        format=serialization.PublicFormat.SubjectPublicKeyInfo,
    )
    return hashlib.sha256(der).hexdigest()
