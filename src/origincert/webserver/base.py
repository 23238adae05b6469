"""The contract every web server module fulfils.

A web server module reads the real configuration, says which sites it
defines, and computes the edits that make a site serve a certificate. It
never writes files itself and never talks to Cloudflare: the provisioning
transaction applies the edits, tests, reloads, verifies and rolls back.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Listen:
    """One listening socket of a site."""

    address: str | None  # None means every address of its family
    port: int
    ssl: bool
    ipv6: bool = False
    default_server: bool = False


@dataclass(frozen=True)
class Site:
    """A site as the web server configuration defines it."""

    name: str                       # its first plain hostname
    hostnames: tuple[str, ...]      # plain names and one-level wildcards, never regexes
    source: Path                    # the file that defines it
    line: int                       # where in that file
    listens: tuple[Listen, ...]
    certificate: Path | None = None  # the certificate it serves now, if any
    key: Path | None = None
    managed: bool = False           # origincert's include is in place

    @property
    def https(self) -> bool:
        return any(listen.ssl for listen in self.listens)


@dataclass(frozen=True)
class CertFiles:
    """Where the certificate (leaf first, then chain) and its key live."""

    certificate: Path
    key: Path


@dataclass(frozen=True)
class FileChange:
    """One file's content before (None: it did not exist) and after (None: removed)."""

    path: Path
    before: bytes | None
    after: bytes | None
    mode: int | None = None  # for new files

    def diff(self) -> str:
        old = (self.before or b"").decode(errors="replace").splitlines(keepends=True)
        new = (self.after or b"").decode(errors="replace").splitlines(keepends=True)
        return "".join(
            difflib.unified_diff(old, new, f"a{self.path}", f"b{self.path}")
        )


@dataclass
class InstallPlan:
    """The edits that make sites serve a certificate, not yet applied."""

    changes: list[FileChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the user should be told

    def diff(self) -> str:
        return "".join(change.diff() for change in self.changes)

    @property
    def empty(self) -> bool:
        return all(change.before == change.after for change in self.changes)


@dataclass(frozen=True)
class Endpoint:
    """Where to reach the local origin to check what it serves."""

    host: str
    port: int


class WebServer(Protocol):
    kind: str  # "nginx", "apache", "caddy"

    def sites(self) -> list[Site]:
        """Every site the configuration defines, read fresh from disk."""

    def plan_install(
        self,
        site: Site,
        files: CertFiles,
        *,
        lineage: str,
        redirect: bool = False,
        replace: bool = False,
    ) -> InstallPlan:
        """The edits that make ``site`` serve ``files`` over HTTPS."""

    def plan_uninstall(self, site: Site, *, lineage: str) -> InstallPlan:
        """The edits that undo ``plan_install`` for ``site``."""

    def config_test(self) -> None:
        """Run the server's own config test; raise WebServerError with its words."""

    def reload(self) -> None:
        """Reload gracefully; raise WebServerError if the server refused."""

    def endpoints(self, site: Site) -> list[Endpoint]:
        """The local addresses where the site's HTTPS listener can be reached."""
