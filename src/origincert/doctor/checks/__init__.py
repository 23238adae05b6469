"""The registry of doctor's checks, and every check id with what it sees.

Three kinds of check, each a small function:

- hostname checks ``(target, facts, config) -> [Finding]``, once per hostname;
- site checks ``(site, hostname, facts, config) -> [Finding]``, once per site
  of this machine, reported under the first hostname checked for it;
- zone checks ``(zone_targets, facts) -> [Finding]``, once per zone, reported
  under the zone's apex (or the record they are about);
- run checks ``(targets, facts) -> [Finding]``, once per run (origin addresses).

A check that cannot read what it needs (an API error, a missing permission)
raises; the runner turns that into a ``doctor.incomplete`` finding, so a gap in
the evidence is never mistaken for health.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

HOST_CHECKS: list[Callable[..., Any]] = []
SITE_CHECKS: list[Callable[..., Any]] = []
ZONE_CHECKS: list[Callable[..., Any]] = []
RUN_CHECKS: list[Callable[..., Any]] = []

# Every id a check can report, with what it sees. Stable: scripts match on them.
CHECK_IDS = {
    "edge.521": "the origin refuses the connection Cloudflare makes in this SSL mode",
    "edge.522": "the origin does not answer the connection Cloudflare makes",
    "edge.525": "no TLS handshake with the origin for the hostname (no TLS listener, "
                "handshake refused, plain HTTP on 443)",
    "edge.526": "Full (strict) rejects the origin's certificate (untrusted issuer, wrong "
                "names, expired)",
    "edge.redirect_loop": "the origin redirects to the very URL Cloudflare asked for "
                          "(Flexible + HTTP→HTTPS redirect, Apache's %{HTTPS}, WordPress)",
    "edge.not_covered": "the free edge certificate does not cover a name two levels deep",
    "dns.grey_origin_cert": "a DNS-only record for a name that serves an Origin CA certificate",
    "dns.not_proxied": "a site's record is DNS only: visitors bypass Cloudflare",
    "dns.no_record": "the zone has no A, AAAA or CNAME record for the hostname",
    "dns.origin_unknown": "the record leads outside the zone: the origin cannot be checked",
    "account.no_zone": "no connected account reaches a zone for the hostname",
    "account.permissions": "the credential lacks permissions for the zone",
    "zone.ssl_off": "the zone's SSL mode is Off",
    "zone.flexible": "the zone's SSL mode is Flexible (Cloudflare to origin in plain HTTP)",
    "zone.full": "the zone's SSL mode is Full (the origin certificate is not validated)",
    "zone.https_settings": "Always Use HTTPS, Automatic HTTPS Rewrites or minimum TLS 1.2 "
                           "not set as the guide recommends",
    "zone.https_rewrites_off": "mixed content found while Automatic HTTPS Rewrites is off",
    "content.mixed": "the page loads subresources or posts forms over http://",
    "wordpress.siteurl": "WordPress siteurl/home are http:// (or could not be read)",
    "wordpress.https_detection": "WordPress cannot tell that the visitor used HTTPS",
    "origin.direct_ip": "what a handshake without a name (the bare IP) gets from the origin",
    "origin.exposure": "DNS-only records or SPF entries that publish a proxied origin's address",
    "letsencrypt.mixing": "a Let's Encrypt client keeps renewing a certificate for the name",
    "cert.unreadable": "the certificate or key file named by the server cannot be read",
    "cert.file_slot": "the wrong kind of file in the certificate or key slot",
    "cert.key_mismatch": "the key does not belong to the certificate",
    "key.permissions": "the key file is readable by others, or not by the server",
    "cert.ocsp_stapling": "OCSP stapling is on for an Origin CA certificate",
    "cert.expiry": "the certificate has expired or expires soon",
    "cert.revoked": "the certificate served is revoked, or unknown to the zone",
    "doctor.incomplete": "a check could not read what it needs",
}


def host_check(fn: Callable[..., Any]) -> Callable[..., Any]:
    HOST_CHECKS.append(fn)
    return fn


def site_check(fn: Callable[..., Any]) -> Callable[..., Any]:
    SITE_CHECKS.append(fn)
    return fn


def zone_check(fn: Callable[..., Any]) -> Callable[..., Any]:
    ZONE_CHECKS.append(fn)
    return fn


def run_check(fn: Callable[..., Any]) -> Callable[..., Any]:
    RUN_CHECKS.append(fn)
    return fn


def load() -> None:
    """Import the check modules, which register themselves."""
    from origincert.doctor.checks import (  # noqa: F401
        account, content, dns, material, visitor, zone,
    )
