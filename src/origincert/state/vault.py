"""Credentials at rest: sealed with AES-256-GCM before they reach the database.

Why AES-GCM (``cryptography``'s AESGCM) rather than Fernet: both are
authenticated, but AES-GCM takes associated data, so each ciphertext is bound
to the account it belongs to. A ciphertext copied onto another account's row
fails to open instead of silently lending that account someone else's
credential.

The key is 32 random bytes, base64 in ``secret.key`` (0600) in the state
folder, created once; or it comes from ``ORIGINCERT_SECRET_KEY`` (base64) so
that a deployment can keep it out of the state folder altogether. Each
ciphertext carries a short key id, which lets a wrong key be told apart from
a damaged ciphertext.

Blob layout: version (1 byte) | key id (4) | nonce (12) | ciphertext + tag.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from origincert.errors import StateError
from origincert.files import ensure_dir, remove, write_atomic
from origincert.secret import Secret
from origincert.state.paths import StatePaths

KEY_ENV = "ORIGINCERT_SECRET_KEY"
KEY_BYTES = 32
_VERSION = b"\x01"
_KEY_ID_BYTES = 4
_NONCE_BYTES = 12
_HEADER = len(_VERSION) + _KEY_ID_BYTES + _NONCE_BYTES
_AAD_PREFIX = b"origincert-vault-v1:"
_RECOVER_HINT = (
    "restore the secret key (secret.key or ORIGINCERT_SECRET_KEY) from a backup, "
    "or remove the account and add it again"
)


class Vault:
    """Seals and opens secrets with one AES-256-GCM key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise StateError(f"the secret key must be {KEY_BYTES} bytes, not {len(key)}")
        self._aead = AESGCM(key)
        self.key_id = hashlib.sha256(b"origincert-key-id:" + key).digest()[:_KEY_ID_BYTES]

    def __repr__(self) -> str:
        return f"Vault(key_id={self.key_id.hex()})"

    @classmethod
    def load(cls, paths: StatePaths, *, env: Mapping[str, str] | None = None) -> Vault:
        """The vault of this state folder: the environment's key, else the key file.

        The key file is created on first use.
        """
        environ = os.environ if env is None else env
        if environ.get(KEY_ENV):
            return cls(_decode_key(environ[KEY_ENV], KEY_ENV))
        return cls(_read_or_create_key(paths.secret_key_file))

    def seal(self, secret: Secret, *, context: str = "") -> bytes:
        """Encrypt ``secret``; ``context`` (e.g. the account name) must match on ``open``."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, secret.reveal().encode(), _aad(context))
        return _VERSION + self.key_id + nonce + sealed

    def open(self, blob: bytes, *, context: str = "") -> Secret:
        """Decrypt a sealed secret, or raise StateError saying why it cannot be read."""
        blob = bytes(blob)
        if len(blob) <= _HEADER or blob[:1] != _VERSION:
            raise StateError(f"a stored credential{_about(context)} is damaged", hint=_RECOVER_HINT)
        if blob[1 : 1 + _KEY_ID_BYTES] != self.key_id:
            raise StateError(
                f"a stored credential{_about(context)} was sealed with another secret key",
                hint=_RECOVER_HINT,
            )

        nonce, sealed = blob[1 + _KEY_ID_BYTES : _HEADER], blob[_HEADER:]
        try:
            plain = self._aead.decrypt(nonce, sealed, _aad(context))
        except InvalidTag as err:
            raise StateError(
                f"a stored credential{_about(context)} failed its integrity check "
                "(altered or moved to another account)",
                hint=_RECOVER_HINT,
            ) from err
        return Secret(plain.decode("utf-8"))


def generate_key_text() -> str:
    """A fresh key as base64 text, the form of ``secret.key`` and ``ORIGINCERT_SECRET_KEY``."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def _aad(context: str) -> bytes:
    return _AAD_PREFIX + context.encode("utf-8")


def _about(context: str) -> str:
    return f" (account {context})" if context else ""


def _decode_key(text: str, source: str) -> bytes:
    cleaned = text.strip()
    try:
        if "-" in cleaned or "_" in cleaned:
            key = base64.urlsafe_b64decode(cleaned)
        else:
            key = base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError) as err:
        raise StateError(f"{source} is not valid base64", hint=_RECOVER_HINT) from err
    if len(key) != KEY_BYTES:
        raise StateError(
            f"{source} holds {len(key)} bytes; the secret key is {KEY_BYTES} bytes",
            hint=_RECOVER_HINT,
        )
    return key


def _read_or_create_key(path: Path) -> bytes:
    if not path.exists():
        _create_key_file(path)

    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise StateError(
            f"the secret key {path} is readable by others (mode {mode:04o})",
            hint=f"run: chmod 600 {path}",
        )
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as err:
        raise StateError(f"cannot read the secret key {path}: {err}", hint=_RECOVER_HINT) from err
    return _decode_key(text, str(path))


def _create_key_file(path: Path) -> None:
    # Two first runs at once must not each make a key: write a private temp
    # file, then link it into place, which fails if the other run won.
    ensure_dir(path.parent, 0o700)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.new")
    write_atomic(temp, generate_key_text() + "\n", mode=0o600)
    try:
        os.link(temp, path)
    except FileExistsError:
        pass
    finally:
        remove(temp)
