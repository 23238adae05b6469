"""The ACME account: its key in the state folder, and its registration at a directory.

The key is ECDSA P-256 (ES256), made once per directory and kept 0600. The account
URL is not stored: registering again with the same key answers with the existing
account (RFC 8555 §7.3.1), which also copes with a test CA that forgets its accounts.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from urllib.parse import urlsplit

import josepy
from acme import client as acme_client
from acme import errors as acme_errors
from acme import messages
from cryptography.hazmat.primitives.asymmetric import ec

from origincert.acme.errors import AcmeError
from origincert.files import ensure_dir, write_atomic
from origincert.pki import MaterialError
from origincert.pki.keys import key_to_pem, load_key

log = logging.getLogger(__name__)


def account_key_path(state_dir: Path, directory: str) -> Path:
    """Where the account key for ``directory`` lives: ``acme/<host>-<hash>/account.key``."""
    host = urlsplit(directory).hostname or "acme"
    digest = hashlib.sha256(directory.encode()).hexdigest()[:10]
    return Path(state_dir) / "acme" / f"{host}-{digest}" / "account.key"


def load_account_key(path: Path) -> josepy.JWKEC:
    """The account key at ``path``; made (0600, folder 0700) on first use."""
    path = Path(path)
    if path.is_file():
        try:
            key = load_key(path.read_bytes())
        except MaterialError as err:
            raise AcmeError(f"the ACME account key {path} is unreadable: {err.message}",
                            hint="move it away to register a new account") from err
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise AcmeError(f"the ACME account key {path} is not an ECDSA key",
                            hint="move it away to register a new account")
        return josepy.JWKEC(key=key)

    ensure_dir(path.parent, 0o700)
    key = ec.generate_private_key(ec.SECP256R1())
    write_atomic(path, key_to_pem(key), mode=0o600)
    log.info("acme account key created path=%s", path)
    return josepy.JWKEC(key=key)


def register(acme: acme_client.ClientV2, email: str | None) -> messages.RegistrationResource:
    """Register the account (agreeing to the CA's terms), or find the one this key has."""
    new = messages.NewRegistration.from_data(email=email, terms_of_service_agreed=True)
    try:
        return acme.new_account(new)
    except acme_errors.ConflictError as existing:
        regr = messages.RegistrationResource(uri=existing.location,
                                             body=messages.Registration())
        acme.net.account = regr
        log.info("acme account found uri=%s", existing.location)
        return regr
