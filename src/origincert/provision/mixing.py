"""Let's Encrypt renewals of the same names: refused, or disabled with --replace.

The renewal configuration is renamed aside inside the same transaction as the
web server edits, so a rollback (or ``uninstall``) puts it back.
"""

from __future__ import annotations

from pathlib import Path

from origincert.errors import OriginCertError
from origincert.inventory.letsencrypt import DISABLED_SUFFIX, Renewal, scan
from origincert.webserver.base import FileChange


def renewal_conflicts(names: list[str], letsencrypt_dir: Path,
                      acme_sh_home: Path) -> list[Renewal]:
    return scan(letsencrypt_dir, acme_sh_home).conflicts(names)


def refuse(conflicts: list[Renewal], names: list[str]) -> OriginCertError:
    found = "; ".join(f"{r.client} renews {', '.join(r.overlaps(names))} ({r.config})"
                      for r in conflicts)
    return OriginCertError(
        f"another client keeps a certificate for these names: {found}",
        hint="an Origin CA certificate and a Let's Encrypt renewal would fight over the "
             "site; pass --replace to disable that renewal (its file is kept, renamed)",
    )


def disable(conflicts: list[Renewal]) -> tuple[list[FileChange], list[str]]:
    """The edits that stop the renewals, and what to tell the user."""
    changes: list[FileChange] = []
    notes: list[str] = []
    for renewal in conflicts:
        changes += renewal.disable()
        notes.append(f"{renewal.client} renewal {renewal.config} disabled: kept as "
                     f"{renewal.config.name}{DISABLED_SUFFIX}; rename it back to restore it")
    return changes, notes
