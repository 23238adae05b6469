"""Certificates and keys on disk, every version kept, the current one behind a stable path.

Layout in the state folder::

    certs/<lineage>/<version>/privkey.pem   (0600)
    certs/<lineage>/<version>/cert.pem      (0644)
    live/<lineage> -> ../certs/<lineage>/<version>

The web server configuration names ``live/<lineage>/cert.pem`` and
``live/<lineage>/privkey.pem``; a new certificate goes live by flipping the
one symlink atomically, and the old version stays on disk for a rollback.

There is no ``fullchain.pem``: an Origin CA leaf is signed directly by the
Origin CA root, which Cloudflare already has, so the leaf alone is the whole
chain the server must send.

The key is saved before the certificate is requested (C26): a key whose
certificate never arrives is harmless, a certificate whose key was lost is
useless. Lineage names end up in paths, so they are checked as hostile input.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from origincert.errors import StateError, UsageError
from origincert.files import ensure_dir, replace_symlink, write_atomic
from origincert.pki import MaterialError
from origincert.pki.certificate import load_certificate, matches_key
from origincert.pki.keys import PrivateKey, key_to_pem, load_key
from origincert.state.paths import StatePaths

if TYPE_CHECKING:
    from cryptography import x509

log = logging.getLogger(__name__)

CERT_FILE = "cert.pem"
KEY_FILE = "privkey.pem"
WILDCARD_LABEL = "_wildcard_"

_LINEAGE = re.compile(r"^[a-z0-9_][a-z0-9_.-]{0,199}$")
_MAX_VERSION_TRIES = 1000


def lineage_name(hostname: str) -> str:
    """The folder name for a hostname: ``*.example.com`` gives ``_wildcard_.example.com``."""
    name = hostname.strip().lower()
    if name.startswith("*."):
        name = WILDCARD_LABEL + name[1:]
    return check_lineage(name)


def check_lineage(lineage: str) -> str:
    """Return ``lineage`` if it is a safe single path component, else raise UsageError."""
    if (
        not isinstance(lineage, str)
        or not _LINEAGE.match(lineage)
        or ".." in lineage
        or lineage.endswith(".")
    ):
        raise UsageError(
            f"unsafe certificate name {lineage!r}",
            hint="names are lowercase letters, digits, '.', '-' and '_', without '..' or '/'",
        )
    return lineage


class CertStore:
    """The ``certs/`` and ``live/`` folders of one state folder."""

    def __init__(self, paths: StatePaths | Path) -> None:
        if isinstance(paths, StatePaths):
            self.certs_dir, self.live_dir = paths.certs_dir, paths.live_dir
        else:
            self.certs_dir, self.live_dir = Path(paths) / "certs", Path(paths) / "live"

    def save_key(self, lineage: str, key: PrivateKey, *,
                 durable: bool = True) -> tuple[int, Path]:
        """Write ``key`` (0600) into a new version folder; returns (version, key path)."""
        folder, version = self._new_version_dir(lineage)
        key_path = folder / KEY_FILE
        write_atomic(key_path, key_to_pem(key), mode=0o600, durable=durable)
        return version, key_path

    def save_certificate(self, lineage: str, version: int, pem: bytes | str, *,
                         key: PrivateKey | None = None, leaf: x509.Certificate | None = None,
                         durable: bool = True) -> Path:
        """Write the certificate beside its key; a certificate for another key is refused.

        ``key`` is that version's key and ``leaf`` the certificate already parsed, when
        the caller holds them (saves reading the one back and parsing the other again).
        """
        folder = self.version_dir(lineage, version)
        key_path = folder / KEY_FILE
        if not key_path.is_file():
            raise StateError(f"no key saved for {lineage} version {version}")

        payload = pem.encode() if isinstance(pem, str) else pem
        cert = leaf if leaf is not None else load_certificate(payload)
        if not matches_key(cert, key or self.load_key(lineage, version)):
            raise MaterialError(
                f"this certificate does not belong to the key of {lineage} version {version}",
                hint="the certificate must be the one issued for this key's CSR",
            )

        cert_path = folder / CERT_FILE
        write_atomic(cert_path, payload, mode=0o644, durable=durable)
        return cert_path

    def load_key(self, lineage: str, version: int) -> PrivateKey:
        path = self.version_dir(lineage, version) / KEY_FILE
        try:
            return load_key(path.read_bytes())
        except OSError as err:
            raise StateError(f"cannot read the key {path}: {err.strerror}") from err

    def version_dir(self, lineage: str, version: int) -> Path:
        if not isinstance(version, int) or version < 1:
            raise StateError(f"invalid certificate version {version!r}")
        return self.certs_dir / check_lineage(lineage) / str(version)

    def versions(self, lineage: str) -> list[int]:
        """Every saved version of a lineage, oldest first."""
        folder = self.certs_dir / check_lineage(lineage)
        if not folder.is_dir():
            return []
        return sorted(int(entry.name) for entry in folder.iterdir() if entry.name.isdigit())

    def lineages(self) -> list[str]:
        if not self.certs_dir.is_dir():
            return []
        return sorted(entry.name for entry in self.certs_dir.iterdir() if entry.is_dir())

    def live_paths(self, lineage: str) -> tuple[Path, Path]:
        """The stable (certificate, key) paths a web server configuration names."""
        link = self.live_dir / check_lineage(lineage)
        return link / CERT_FILE, link / KEY_FILE

    def current_version(self, lineage: str) -> int | None:
        """The version ``live/<lineage>`` points at, or None before the first point_live."""
        link = self.live_dir / check_lineage(lineage)
        try:
            target = os.readlink(link)
        except FileNotFoundError:
            return None
        except OSError as err:
            raise StateError(f"{link} is not the symlink origincert made") from err

        name = Path(target).name
        return int(name) if name.isdigit() else None

    def point_live(self, lineage: str, version: int, *, durable: bool = True) -> Path:
        """Flip ``live/<lineage>`` to ``version`` atomically; both files must be there."""
        folder = self.version_dir(lineage, version)
        for name in (CERT_FILE, KEY_FILE):
            if not (folder / name).is_file():
                raise StateError(
                    f"{lineage} version {version} has no {name}; refusing to make it live"
                )

        ensure_dir(self.live_dir, 0o700)
        link = self.live_dir / lineage
        replace_symlink(link, f"../certs/{lineage}/{version}", durable=durable)
        log.info("live pointer moved lineage=%s version=%s", lineage, version)
        return link

    def _new_version_dir(self, lineage: str) -> tuple[Path, int]:
        ensure_dir(self.certs_dir, 0o700)
        base = ensure_dir(self.certs_dir / check_lineage(lineage), 0o700)
        version = max(self.versions(lineage), default=0) + 1

        # mkdir is the claim: two runs never get the same version number.
        for _ in range(_MAX_VERSION_TRIES):
            folder = base / str(version)
            try:
                folder.mkdir(mode=0o700)
            except FileExistsError:
                version += 1
                continue
            return folder, version
        raise StateError(f"cannot create a new version folder under {base}")
