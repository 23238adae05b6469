"""The zone's SSL mode and HTTPS settings, judged against the guide's best practices.

The SSL mode is zone-wide (field case C02): the finding lists which checked
names would pass Full (strict) and which block it, and ``--fix`` switches only
through the zone pre-flight of ``zones.configure``, which checks every proxied
hostname of the zone again.
"""

from __future__ import annotations

from origincert.doctor.checks import zone_check
from origincert.doctor.facts import Facts, Target
from origincert.doctor.findings import ERROR, INFO, WARNING, ZONE_FIX, Finding, Fix, finding
from origincert.zones.configure import HTTPS_SETTINGS, MIN_TLS
from origincert.zones.strict import STRICT

_TLS_ORDER = ("1.0", "1.1", "1.2", "1.3")


@zone_check
def ssl_mode(targets: list[Target], facts: Facts) -> list[Finding]:
    first = targets[0]
    mode = facts.setting(first, "ssl")
    if mode == "strict":
        return []
    zone = first.zone.name
    ready, blocking = _readiness(targets, facts)
    evidence = [f"SSL mode of {zone}: {mode}"]
    if ready:
        evidence.append("would pass Full (strict): " + ", ".join(ready))
    evidence += [f"blocks Full (strict): {line}" for line in blocking]
    names = sorted({line.split(" ", 1)[0].rstrip(":") for line in blocking})
    if blocking:
        fix = Fix("install Origin CA certificates on the names that block Full (strict); "
                  "origincert then switches the zone", command="origincert issue "
                  + " ".join(names[:3]) + (" …" if len(names) > 3 else ""))
    else:
        fix = Fix("switch the zone to Full (strict): every checked name passes (the zone-wide "
                  "pre-flight checks every other proxied hostname first)",
                  command=f"origincert doctor --fix {first.hostname}", action=ZONE_FIX,
                  target=tuple(t.hostname for t in targets))
    if mode == "off":
        return [finding(
            "zone.ssl_off", ERROR, zone, f"the SSL mode of {zone} is Off", zone=zone,
            evidence=evidence, fix=fix,
            explanation="With SSL Off, Cloudflare serves the sites over HTTP only.")]
    if mode == "flexible":
        return [finding(
            "zone.flexible", WARNING, zone, f"the SSL mode of {zone} is Flexible", zone=zone,
            case="C01", evidence=evidence, fix=fix,
            explanation=("Visitors see a padlock, but Cloudflare fetches every page from the "
                         "origin over plain HTTP, readable and changeable on the way. Origins "
                         "that redirect to HTTPS loop forever. The guide's setting is Full "
                         "(strict)."))]
    return [finding(
        "zone.full", INFO, zone, f"the SSL mode of {zone} is Full, not Full (strict)", zone=zone,
        case="C42", evidence=evidence, fix=fix,
        explanation=("Full encrypts to the origin but accepts any certificate, so an expired, "
                     "self-signed or wrong certificate goes unnoticed until the zone is made "
                     "strict."))]


def _readiness(targets: list[Target], facts: Facts) -> tuple[list[str], list[str]]:
    ready: list[str] = []
    blocking: list[str] = []
    for target in targets:
        dns = facts.dns(target)
        if not dns.proxied or not dns.addresses:
            continue
        verdicts = [facts.strict(target, a) for a in dns.addresses]
        failed = [v for v in verdicts if v.outcome != STRICT]
        if failed:
            blocking += [v.describe() for v in failed]
        else:
            ready.append(target.hostname)
    return ready, blocking


@zone_check
def https_settings(targets: list[Target], facts: Facts) -> list[Finding]:
    first = targets[0]
    off = [f"{setting}: {value}" for setting, wanted in HTTPS_SETTINGS.items()
           if (value := facts.setting(first, setting)) != wanted]
    tls = facts.setting(first, "min_tls_version")
    if tls in _TLS_ORDER and _TLS_ORDER.index(tls) < _TLS_ORDER.index(MIN_TLS):
        off.append(f"min_tls_version: {tls}")
    if not off:
        return []
    zone = first.zone.name
    return [finding(
        "zone.https_settings", INFO, zone, "HTTPS settings differ from the guide's",
        zone=zone, evidence=off,
        explanation=("The guide's state is Always Use HTTPS on, Automatic HTTPS Rewrites on "
                     "and TLS 1.2 or later for visitors."),
        fix=Fix("turn them on (each change is recorded and undone if the site breaks)",
                command=f"origincert doctor --fix {first.hostname}", action=ZONE_FIX,
                target=()))]
