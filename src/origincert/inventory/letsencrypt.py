"""Let's Encrypt clients that already manage some of our names.

An Origin CA certificate and a Let's Encrypt renewal for the same name fight:
certbot's nginx installer rewrites the block on renewal, and HTTP-01 fails
behind the proxy anyway (field cases C34, C35). We find certbot renewal
files and acme.sh domain configurations, and the timers that run them. A
renewal is disabled by renaming its file (certbot reads only ``*.conf``;
acme.sh only folders holding ``<domain>.conf``), so it can be restored.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from origincert.errors import OriginCertError
from origincert.pki import certificate as certs
from origincert.pki.certificate import covers
from origincert.webserver.base import FileChange

log = logging.getLogger(__name__)

DISABLED_SUFFIX = ".origincert-disabled"
_KEY_VALUE = re.compile(r"^\s*([A-Za-z_][\w.-]*)\s*=\s*(.*?)\s*$")


@dataclass(frozen=True)
class Renewal:
    """One certificate another client keeps renewing."""

    client: str          # "certbot" or "acme.sh"
    config: Path         # the file that makes it renew
    hostnames: tuple[str, ...]
    certificate: Path | None = None

    def overlaps(self, names: list[str]) -> list[str]:
        return [n for n in names if n in self.hostnames or covers(self.hostnames, n)]

    def disable(self) -> list[FileChange]:
        """Rename the config aside: the edit that stops the renewal, undoable."""
        data = self.config.read_bytes()
        aside = self.config.with_name(self.config.name + DISABLED_SUFFIX)
        return [FileChange(aside, None, data, mode=self.config.stat().st_mode & 0o777),
                FileChange(self.config, data, None)]


@dataclass
class Scan:
    renewals: list[Renewal] = field(default_factory=list)
    timers: list[Path] = field(default_factory=list)

    def conflicts(self, names: list[str]) -> list[Renewal]:
        return [r for r in self.renewals if r.overlaps(names)]


def scan(letsencrypt_dir: Path = Path("/etc/letsencrypt"),
         acme_sh_home: Path = Path("/root/.acme.sh"),
         system_root: Path = Path("/")) -> Scan:
    """Every renewal configuration and renewal timer on this machine."""
    found = Scan()
    found.renewals += _certbot(letsencrypt_dir / "renewal")
    found.renewals += _acme_sh(acme_sh_home)
    found.timers += _timers(system_root)
    return found


def _certbot(folder: Path) -> list[Renewal]:
    renewals = []
    for conf in sorted(folder.glob("*.conf")) if folder.is_dir() else []:
        values = _top_level(conf)
        cert_path = Path(values["cert"]) if values.get("cert") else None
        names = _names_from_certificate(cert_path) or [conf.stem]
        renewals.append(Renewal("certbot", conf, tuple(names), cert_path))
    return renewals


def _acme_sh(home: Path) -> list[Renewal]:
    renewals = []
    for folder in sorted(home.iterdir()) if home.is_dir() else []:
        domain = folder.name.removesuffix("_ecc")
        conf = folder / f"{domain}.conf"
        if not conf.is_file():
            continue
        values = _top_level(conf)
        main = values.get("Le_Domain", domain).strip("'\"")
        alt = values.get("Le_Alt", "").strip("'\"")
        extra = [a for a in alt.split(",") if a and a != "no"]
        renewals.append(Renewal("acme.sh", conf, tuple([main, *extra])))
    return renewals


def _timers(root: Path) -> list[Path]:
    candidates = [
        "lib/systemd/system/certbot.timer", "etc/systemd/system/certbot.timer",
        "etc/systemd/system/snap.certbot.renew.timer", "etc/cron.d/certbot",
    ]
    return [root / c for c in candidates if (root / c).exists()]


def _top_level(conf: Path) -> dict[str, str]:
    """``key = value`` lines before the first section: certbot's and acme.sh's shape."""
    values: dict[str, str] = {}
    for line in conf.read_text(errors="replace").splitlines():
        if line.lstrip().startswith("["):
            break
        match = _KEY_VALUE.match(line)
        if match and not line.lstrip().startswith("#"):
            values[match.group(1)] = match.group(2)
    return values


def _names_from_certificate(path: Path | None) -> list[str]:
    if path is None:
        return []
    try:
        return certs.sans(certs.load_certificate(path.read_bytes()))
    except (OSError, OriginCertError) as err:
        log.info("renewal certificate unreadable", extra={"path": str(path), "error": str(err)})
        return []
