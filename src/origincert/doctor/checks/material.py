"""The certificate and key a site serves: the files, their modes, dates and status.

Field cases C25 (key not readable by the process that loads it, or readable
by everyone), C26 (key and certificate do not match), C27 (the wrong file in
a slot), C16 (an installed certificate missing from the zone's list), and the
guide's warning against mixing Origin CA with Let's Encrypt (C34, C35).
"""

from __future__ import annotations

import os
import pwd
import stat
from datetime import timedelta
from pathlib import Path

from cryptography import x509

from origincert.doctor.checks import host_check, site_check
from origincert.doctor.config import OriginConfig
from origincert.doctor.facts import Facts, Target
from origincert.doctor.findings import (
    ERROR, KEY_MODE_FIX, REISSUE_FIX, WARNING, Finding, Fix, finding,
)
from origincert.errors import OriginCertError
from origincert.pki import certificate as certs
from origincert.pki.keys import load_key
from origincert.pki.sniff import paths_swapped, slot_problem, sniff
from origincert.webserver.base import Site


def _reissue(site: Site, facts: Facts, what: str) -> Fix:
    """Reissue for a site origincert manages; otherwise the command to take it over."""
    names = _lineage_names(site, facts)
    command = f"origincert issue {' '.join(names)} --reissue"
    if site.managed:
        return Fix(f"{what}: issue a new Origin CA certificate and install it", command=command,
                   action=REISSUE_FIX, target=tuple(names))
    return Fix(f"{what}: install an Origin CA certificate (origincert keeps the key and the "
               "certificate together)", command=f"origincert issue {' '.join(names)} --replace")


def _lineage_names(site: Site, facts: Facts) -> list[str]:
    if facts.store is not None and site.managed:
        for cert in reversed(facts.store.certificates(status="installed")):
            if set(cert.hostnames) & set(site.hostnames):
                return list(cert.hostnames)
    return list(site.hostnames)


@site_check
def files(site: Site, target: Target, facts: Facts, config: OriginConfig) -> list[Finding]:
    """C27 and C26: what is in each slot, and whether the key belongs to the certificate."""
    if site.certificate is None or site.key is None or "$" in str(site.certificate):
        return []
    read: dict[str, bytes] = {}
    for slot, path in (("certificate", site.certificate), ("key", site.key)):
        try:
            read[slot] = path.read_bytes()
        except OSError as err:
            return [_unreadable(site, target, slot, path, err)]

    found_cert, found_key = sniff(read["certificate"]), sniff(read["key"])
    problems = [f"{site.certificate} ({'certificate'} slot): {p}"
                for p in [slot_problem(found_cert, "certificate")] if p]
    problems += [f"{site.key} (key slot): {p}" for p in [slot_problem(found_key, "key")] if p]
    if problems:
        swapped = paths_swapped(found_cert, found_key)
        return [finding(
            "cert.file_slot", ERROR, target.hostname,
            "certificate and key paths are swapped" if swapped
            else "the wrong file in a certificate slot", zone=_zone(target), case="C27",
            evidence=problems,
            explanation=("The web server expects the site's certificate (PEM, leaf first) in "
                         "one slot and its private key in the other; with anything else it "
                         "refuses to start or reload (\"no start line\", \"key values "
                         "mismatch\")."),
            fix=Fix("swap the two paths in the configuration" if swapped else
                    "point each slot at the right file", command=f"origincert issue "
                    f"{' '.join(site.hostnames)} --replace"))]

    try:
        leaf, key = certs.load_certificate(read["certificate"]), load_key(read["key"])
    except OriginCertError:
        return []
    if certs.matches_key(leaf, key):
        return []
    return [finding(
        "cert.key_mismatch", ERROR, target.hostname, "the key does not belong to the certificate",
        zone=_zone(target), case="C26",
        evidence=[f"{site.certificate}: public key {certs.describe(leaf).spki_sha256[:16]}…",
                  f"{site.key}: a different key pair"],
        explanation=("The public key inside the certificate was not made from this private key. "
                     "The server refuses the pair at its next start or reload (\"key values "
                     "mismatch\"); typically the certificate was re-created and the old key "
                     "kept."),
        fix=_reissue(site, facts, "the pair cannot be repaired"))]


def _unreadable(site: Site, target: Target, slot: str, path: Path, err: OSError) -> Finding:
    return finding(
        "cert.unreadable", ERROR, target.hostname, f"the {slot} file cannot be read",
        zone=_zone(target), evidence=[f"{path}: {err.strerror}"],
        explanation="The web server names this file but it is missing or unreadable, so it "
                    "cannot start or reload with this configuration.",
        fix=Fix(f"restore {path} or install a new certificate",
                command=f"origincert issue {' '.join(site.hostnames)} --replace"))


@site_check
def key_permissions(site: Site, target: Target, facts: Facts,
                    config: OriginConfig) -> list[Finding]:
    """C25: who can read the key, and whether the process that loads it can."""
    if site.key is None:
        return []
    variable = "$" in str(site.key)
    path = Path(str(site.key).replace("$ssl_server_name", target.sni)) if variable else site.key
    try:
        info = path.stat()
    except OSError:
        return []
    found: list[Finding] = []
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077 or info.st_uid != 0:
        owner = _user(info.st_uid)
        severity = ERROR if mode & 0o004 else WARNING
        fix = Fix(f"chmod 0600 {path} and make root its owner", command=f"chmod 0600 {path}")
        if not variable and _root_loads():
            fix = Fix(f"make {path} mode 0600, owned by root (the server reads it as root at "
                      "start)", command=f"origincert doctor --fix {target.hostname}",
                      action=KEY_MODE_FIX, target=(str(path),))
        found.append(finding(
            "key.permissions", severity, target.hostname,
            "the private key is readable by others" if mode & 0o004
            else "the private key is not private to root", zone=_zone(target), case="C25",
            evidence=[f"{path}: mode {mode:04o}, owner {owner}"],
            explanation=("Anyone who can read the key can impersonate the origin to "
                         "Cloudflare. nginx and Apache read static key paths as root at start, "
                         "so 0600 root is enough."), fix=fix))
    if variable:
        worker = _worker_user(config)
        if worker is not None and not _can_read(path, worker):
            found.append(finding(
                "key.permissions", ERROR, target.hostname,
                f"the key is loaded per handshake by {worker.pw_name}, who cannot read it",
                zone=_zone(target), case="C25",
                evidence=[f"ssl_certificate_key {site.key} holds a variable: nginx workers "
                          f"load it during each handshake", f"{path} (or a folder above it) "
                          f"is not readable by {worker.pw_name}"],
                explanation=("Keys named with variables are opened by the unprivileged worker "
                             "processes, not by the root master: the handshake fails (525 at "
                             "the edge)."),
                fix=Fix(f"give the key a group {worker.pw_name} belongs to and mode 0640 "
                        "(folders searchable), or name the key without a variable")))
    return found


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _root_loads() -> bool:
    return os.geteuid() == 0


def _worker_user(config: OriginConfig):
    name = "nobody"
    for args in config.values("user"):
        name = args[0] if args else name
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def _can_read(path: Path, user) -> bool:
    groups = {user.pw_gid}
    for folder in [*reversed(path.parents)]:
        if not _allowed(folder, user.pw_uid, groups, 0o1):
            return False
    return _allowed(path, user.pw_uid, groups, 0o4)


def _allowed(path: Path, uid: int, gids: set[int], bit: int) -> bool:
    try:
        info = path.stat()
    except OSError:
        return False
    mode = stat.S_IMODE(info.st_mode)
    if uid == 0:
        return True
    if info.st_uid == uid:
        return bool(mode & (bit << 6))
    if info.st_gid in gids:
        return bool(mode & (bit << 3))
    return bool(mode & bit)


@site_check
def served(site: Site, target: Target, facts: Facts, config: OriginConfig) -> list[Finding]:
    """Expiry, OCSP stapling and revocation of the certificate the site serves."""
    if site.certificate is None or "$" in str(site.certificate):
        return []
    try:
        leaf = certs.load_certificate(site.certificate.read_bytes())
    except (OSError, OriginCertError):
        return []  # files() reports the file itself
    found = _expiry(site, target, facts, leaf)
    origin_ca = certs.chains_to(leaf, facts.roots())
    if origin_ca:
        found += _stapling(site, target, config)
        if target.zone is not None:
            found += _revoked(site, target, facts, leaf)
    return found


def _expiry(site: Site, target: Target, facts: Facts, leaf: x509.Certificate) -> list[Finding]:
    now = facts.now()
    left = leaf.not_valid_after_utc - now
    if left > timedelta(days=facts.options.expiry_warning_days):
        return []
    expired = left <= timedelta(0)
    when = f"{leaf.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
    return [finding(
        "cert.expiry", ERROR if expired else WARNING, target.hostname,
        f"the certificate expired on {when}" if expired
        else f"the certificate expires in {left.days} days", zone=_zone(target), case="C35",
        evidence=[f"{site.certificate}: valid until {when}"],
        explanation=("An expired certificate gives visitors a 526 under Full (strict); under "
                     "Full it is accepted silently. Renewal over HTTP-01 cannot pass through "
                     "Cloudflare once the certificate it needs has expired."),
        fix=_reissue(site, facts, "expired" if expired else "expiring soon"))]


def _stapling(site: Site, target: Target, config: OriginConfig) -> list[Finding]:
    on = [args for name in ("ssl_stapling", "sslusestapling")
          for args in config.values(name) if args and args[0].lower() == "on"]
    if not on:
        return []
    return [finding(
        "cert.ocsp_stapling", WARNING, target.hostname,
        "OCSP stapling is on for an Origin CA certificate", zone=_zone(target),
        evidence=[f"stapling on in {config.where(tls=True) or site.source}",
                  f"{site.certificate} is signed by Cloudflare's Origin CA"],
        explanation=("Origin CA certificates name no OCSP responder: the server logs an error "
                     "for every attempt and staples nothing. Only Cloudflare sees this "
                     "certificate, and it does not need a stapled answer."),
        fix=Fix("remove ssl_stapling / ssl_stapling_verify (Apache: SSLUseStapling) from the "
                "site's TLS block"))]


def _revoked(site: Site, target: Target, facts: Facts, leaf: x509.Certificate) -> list[Finding]:
    serials = {str(leaf.serial_number), format(leaf.serial_number, "x"),
               format(leaf.serial_number, "X")}
    listed = facts.origin_certificates(target)
    match = next((c for c in listed if c.id in serials), None)
    if match is not None and not match.revoked_at:
        return []
    how = (f"revoked at {match.revoked_at}" if match is not None
           else f"not in the zone's list of Origin CA certificates ({len(listed)} listed)")
    return [finding(
        "cert.revoked", ERROR, target.hostname,
        "the certificate served is revoked at Cloudflare (or unknown to the zone)",
        zone=_zone(target), case="C16",
        evidence=[f"{site.certificate}: serial {leaf.serial_number}",
                  f"GET /certificates?zone_id={target.zone.id}: {how}"],
        explanation=("A revoked Origin CA certificate can be refused by Cloudflare at any "
                     "time (526). One missing from the zone's list was revoked, or belongs "
                     "to another zone or account."),
        fix=_reissue(site, facts, "revoked"))]


@host_check
def letsencrypt_mixing(target: Target, facts: Facts, config: OriginConfig) -> list[Finding]:
    """A certbot or acme.sh renewal for the name (or for the certificate the site serves)."""
    scan = facts.renewals()
    site_folder = target.site.certificate.parent if target.site and target.site.certificate \
        else None
    conflicts = [r for r in scan.renewals if r.overlaps([target.hostname])
                 or (site_folder is not None and r.certificate is not None
                     and r.certificate.parent == site_folder)]
    if not conflicts:
        return []
    evidence = [f"{r.client} renews {', '.join(r.hostnames)} ({r.config})" for r in conflicts]
    evidence += [f"renewal timer: {t}" for t in scan.timers]
    case = "C34"
    if target.zone is not None and facts.dns(target).proxied \
            and facts.mode(target) == "strict":
        case = "C35"
        evidence.append("the name is proxied on Full (strict): an HTTP-01 renewal needs the "
                        "current certificate to still be valid")
    return [finding(
        "letsencrypt.mixing", WARNING, target.hostname,
        "a Let's Encrypt client also manages this name", zone=_zone(target), case=case,
        evidence=evidence,
        explanation=("The guide says not to mix Origin CA and Let's Encrypt on one name: the "
                     "renewal rewrites the server configuration, and behind the proxy HTTP-01 "
                     "validation breaks (redirects, 526 once expired). An Origin CA certificate "
                     "makes Let's Encrypt unnecessary for a proxied name."),
        fix=Fix("replace it with an Origin CA certificate; origincert disables the renewal "
                "(kept aside, restorable)",
                command=f"origincert issue {target.hostname} --replace"))]


def _zone(target: Target) -> str | None:
    return target.zone.name if target.zone is not None else None
