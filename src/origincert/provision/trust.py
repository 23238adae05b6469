"""Which roots an issued certificate must chain to.

Cloudflare's real Origin CA roots always; the sandbox's roots only for an
account connected to the sandbox (pinned when it was added), so a sandbox
certificate can never pass as a real one.
"""

from __future__ import annotations

from cryptography import x509

from origincert.accounts.connect import trust_file
from origincert.pki.certificate import load_certificates
from origincert.pki.roots import cloudflare_roots
from origincert.state.db import Store


def trusted_roots(store: Store, account_name: str) -> list[x509.Certificate]:
    roots = cloudflare_roots()
    pinned = trust_file(store, account_name)
    if pinned.is_file():
        roots += load_certificates(pinned.read_bytes())
    return roots


def all_trusted_roots(store: Store) -> list[x509.Certificate]:
    """Cloudflare's roots and those pinned for any connected account."""
    roots = cloudflare_roots()
    folder = store.paths.state_dir / "trust"
    for pinned in sorted(folder.glob("*.pem")) if folder.is_dir() else []:
        roots += load_certificates(pinned.read_bytes())
    return roots
