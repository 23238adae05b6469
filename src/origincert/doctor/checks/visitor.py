"""What a visitor through Cloudflare gets: 52x, redirect loops, an uncovered edge name.

Derived, not guessed: the zone's SSL mode says how the edge reaches the origin
(Flexible: HTTP on 80; Full: TLS without validation; Full (strict): TLS
validated as the zone pre-flight judges it), and the origin is then reached
that same way, with the hostname as SNI and Host (fact sheet §11; field cases
C01, C03, C07, C08, C21, C23, C42).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from origincert import hostnames as names
from origincert.doctor.checks import host_check
from origincert.doctor.config import OriginConfig
from origincert.doctor.facts import Facts, Target
from origincert.doctor.findings import ERROR, ZONE_FIX, Finding, Fix, finding
from origincert.probe import port as ports
from origincert.probe.http import Page
from origincert.zones.strict import FAILS, STRICT

_NOT_TLS = ("WRONG_VERSION_NUMBER", "RECORD_LAYER", "PACKET_LENGTH", "HTTP_REQUEST",
            "RECORD LAYER", "WRONG VERSION")
MODE_WORDS = {"off": "Off", "flexible": "Flexible", "full": "Full", "strict": "Full (strict)"}


@host_check
def not_covered(target: Target, facts: Facts, config: OriginConfig) -> list[Finding]:
    """C07, C08: proxied names deeper than one level have no free edge certificate."""
    if target.zone is None or not facts.dns(target).proxied:
        return []
    if names.is_edge_covered(target.hostname, target.zone.name):
        return []
    depth = names.depth_below(target.hostname, target.zone.name)
    flat = target.hostname.replace("." + target.zone.name, "").replace(".", "-").lstrip("*-")
    return [finding(
        "edge.not_covered", ERROR, target.hostname,
        f"no edge certificate covers {target.hostname}", zone=target.zone.name, case="C07",
        evidence=[f"{target.hostname} is {depth} levels below the zone {target.zone.name}",
                  f"Universal SSL covers {target.zone.name} and *.{target.zone.name} only"],
        explanation=("Browsers talk TLS to Cloudflare's edge, not to the origin. The free "
                     "Universal SSL certificate covers the apex and one level of subdomain, "
                     "so Cloudflare cannot complete the handshake for this name "
                     "(ERR_SSL_VERSION_OR_CIPHER_MISMATCH). An Origin CA certificate for the "
                     "name only covers the origin side."),
        fix=Fix(f"order an Advanced Certificate (or enable Total TLS) covering "
                f"{target.hostname}, upload a custom certificate, or use a one-level name "
                f"such as {flat}.{target.zone.name}")),
    ]


@host_check
def visitors(target: Target, facts: Facts, config: OriginConfig) -> list[Finding]:
    """52x and redirect loops, per origin address, in the zone's SSL mode."""
    if target.zone is None:
        return []
    dns = facts.dns(target)
    if not dns.proxied or not dns.addresses:
        return []
    mode = facts.mode(target)
    found: list[Finding] = []
    for address in dns.addresses:
        if mode == "flexible":
            found += _flexible(target, facts, config, address)
        elif mode in ("full", "strict"):
            found += _tls(target, facts, config, address, strict=mode == "strict")
    return found


def _flexible(target: Target, facts: Facts, config: OriginConfig,
              address: str) -> list[Finding]:
    page = facts.page(address, target.sni, tls=False)
    if page.status is None:
        return _closed(target, facts, address, 80, "flexible")
    return _loops(target, facts, config, address, page, "flexible")


def _tls(target: Target, facts: Facts, config: OriginConfig, address: str, *,
         strict: bool) -> list[Finding]:
    mode = "strict" if strict else "full"
    reached = facts.connect(address, 443)
    if reached != ports.OPEN:
        return _closed(target, facts, address, 443, mode, reached)

    verdict = facts.strict(target, address)
    if verdict.outcome == FAILS:
        return [_handshake_failed(target, facts, config, address, verdict.reason, mode)]
    if strict and verdict.outcome != STRICT:
        return [_untrusted(target, facts, config, address, verdict.reason)]

    found: list[Finding] = []
    page = facts.page(address, target.sni, tls=True)
    if page.status is not None:
        found += _loops(target, facts, config, address, page, mode)
    if _wordpress(config) and not found:
        admin = facts.page(address, target.sni, tls=True, path="/wp-admin/")
        if admin.status is not None:
            found += _loops(target, facts, config, address, admin, mode)
    return found


def _closed(target: Target, facts: Facts, address: str, port: int, mode: str,
            reached: str | None = None) -> list[Finding]:
    reached = reached or facts.connect(address, port)
    code = "edge.522" if reached == ports.TIMEOUT else "edge.521"
    words = {ports.REFUSED: "refused the connection", ports.TIMEOUT: "did not answer",
             ports.UNREACHABLE: "cannot be reached (no route)"}.get(reached, "failed")
    how = "plain HTTP on port 80" if port == 80 else "TLS on port 443"
    return [finding(
        code, ERROR, target.hostname, f"visitors get a {code[-3:]}: the origin {words}",
        zone=target.zone.name,
        evidence=[f"SSL mode {MODE_WORDS[mode]}: Cloudflare connects with {how}",
                  f"TCP {address}:{port} {words}"],
        explanation=(f"In {MODE_WORDS[mode]} mode Cloudflare reaches the origin with {how}; "
                     "nothing accepts that connection, so every visitor gets an error page."),
        fix=Fix(f"make the web server listen on {address}:{port} for {target.hostname}"
                + (f" (origincert issue {target.hostname} adds the HTTPS listener)"
                   if port == 443 else "") + ", and let Cloudflare's addresses through "
                "the firewall",
                command=f"origincert issue {target.hostname}" if port == 443 else None)),
    ]


def _handshake_failed(target: Target, facts: Facts, config: OriginConfig, address: str,
                      reason: str, mode: str) -> Finding:
    evidence = [f"SSL mode {MODE_WORDS[mode]}: Cloudflare needs a TLS handshake on 443",
                f"handshake with {address}:443, SNI {target.sni}: {reason}"]
    case = None
    # a listener that is not TLS answers the ClientHello with HTTP: OpenSSL then reports
    # a wrong version number or an oversized record (a TLS listener answers HTTP too, with
    # a 400, so the plain request alone proves nothing)
    not_tls = any(word in reason.upper() for word in _NOT_TLS)
    plain = facts.plain_http(address, 443, target.sni) if not_tls else None
    if plain:
        case = "C23"
        evidence.append(f"port 443 answers plain HTTP ({plain}): a `listen 443` without `ssl`")
    elif "UNRECOGNIZED_NAME" in reason.upper() or "unrecognized name" in reason.lower():
        case = "C21"
        evidence.append("the origin rejects this name: it hits a default server that refuses "
                        "handshakes (ssl_reject_handshake) and no server block names it")
    where = config.where()
    if where:
        evidence.append(f"served by {where}")
    return finding(
        "edge.525", ERROR, target.hostname, "visitors get a 525: no TLS handshake with the "
        "origin", zone=target.zone.name, case=case, evidence=evidence,
        explanation=("Cloudflare connects to the origin on port 443 and starts TLS with the "
                     "hostname as the server name. The origin does not complete that "
                     "handshake, so Cloudflare shows error 525 to every visitor."),
        fix=Fix(f"serve a certificate for {target.hostname} on 443 with TLS on "
                "(`listen 443 ssl`), in a server block that names it",
                command=f"origincert issue {target.hostname}"))


def _untrusted(target: Target, facts: Facts, config: OriginConfig, address: str,
               reason: str) -> Finding:
    shake = facts.handshake(address, target.sni)
    evidence = ["SSL mode Full (strict): Cloudflare validates the origin's certificate",
                f"origin {address}, SNI {target.sni}: {reason}"]
    case = "C42"
    if config.kind is not None and config.blocks and not config.where(tls=True):
        # C30: the name has only a port-80 block; another TLS block answers for it
        case = "C30"
        what = "virtual host" if config.kind == "apache" else "server block"
        evidence.append(f"no TLS {what} names {target.hostname} (only {config.where()}): "
                        f"the default one on 443 answers with its own certificate")
    if shake.certificate_der:
        from cryptography import x509

        from origincert.pki import certificate as certs

        leaf = x509.load_der_x509_certificate(shake.certificate_der)
        about = certs.describe(leaf)
        evidence.append(f"served: {', '.join(about.sans) or 'no names'}, issued by "
                        f"{about.issuer}, valid until {about.not_after:%Y-%m-%d}")
    return finding(
        "edge.526", ERROR, target.hostname, "visitors get a 526: Full (strict) rejects the "
        "origin's certificate", zone=target.zone.name, case=case, evidence=evidence,
        explanation=("In Full (strict) Cloudflare accepts only a certificate from a trusted "
                     "issuer (a public CA or Cloudflare's Origin CA) that names the hostname "
                     "and is within its dates. The origin serves one that fails that, so "
                     "visitors get error 526."),
        fix=Fix(f"install an Origin CA certificate for {target.hostname}",
                command=f"origincert issue {target.hostname} --replace"))


def _loops(target: Target, facts: Facts, config: OriginConfig, address: str, page: Page,
           mode: str) -> list[Finding]:
    if not page.is_redirect or not _same_url(page, target):
        return []
    asked = "http" if mode == "flexible" else "https"
    path = urlsplit(page.url).path or "/"
    evidence = [f"SSL mode {MODE_WORDS[mode]}: Cloudflare fetches {asked}:// from the origin",
                f"GET {asked}://{address}{path} (Host {target.sni}) → {page.status} "
                f"Location: {page.location}"]
    case, cause = ("C01", "the origin redirects every request to HTTPS, and under Flexible "
                   "every request from Cloudflare arrives over HTTP")
    if page.headers.get("x-redirect-by", "").lower() == "wordpress":
        case, cause = "C03", ("WordPress redirects to HTTPS because PHP is not told the "
                              "visitor used HTTPS (X-Redirect-By: WordPress)")
        evidence.append("the redirect carries X-Redirect-By: WordPress")
    elif any("%{https}" in " ".join(args).lower() for args in config.values("rewritecond")):
        cause = ("Apache's `RewriteCond %{HTTPS} off` redirect: behind Flexible, Apache never "
                 "sees HTTPS, so the condition is always true")
        evidence.append(f"Apache rewrite on %{{HTTPS}} in {config.where(tls=False)}")
    elif config.where(tls=mode != "flexible"):
        evidence.append(f"redirect made by {config.where(tls=mode != 'flexible')}")
    return [finding(
        "edge.redirect_loop", ERROR, target.hostname, "redirect loop (ERR_TOO_MANY_REDIRECTS)",
        zone=target.zone.name, case=case, evidence=evidence,
        explanation=(f"Cloudflare asks the origin for the page; {cause}. The browser follows "
                     "the redirect to the same HTTPS address, Cloudflare asks again the same "
                     "way, and the loop never ends."),
        fix=_loop_fix(target, facts, mode, case)),
    ]


def _loop_fix(target: Target, facts: Facts, mode: str, case: str) -> Fix:
    if case == "C03":
        return Fix("tell PHP the visitor used HTTPS when the trusted proxy says so: "
                   "`fastcgi_param HTTPS on` in the TLS server block, or in wp-config.php "
                   "`if (($_SERVER['HTTP_X_FORWARDED_PROTO'] ?? '') === 'https') "
                   "$_SERVER['HTTPS'] = 'on';` guarded to the local proxy's address")
    ready = all(facts.strict(target, a).outcome == STRICT for a in facts.dns(target).addresses)
    if mode == "flexible" and ready:
        return Fix(f"the origin already serves a valid certificate for {target.hostname}: "
                   "switch the zone to Full (strict), after checking every proxied hostname "
                   "of the zone (keep the origin's redirect)",
                   command=f"origincert doctor {target.hostname} --fix", action=ZONE_FIX,
                   target=(target.hostname,))
    return Fix(f"install an Origin CA certificate for {target.hostname}; origincert then "
               "switches the zone to Full (strict) once every proxied hostname passes",
               command=f"origincert issue {target.hostname}")


def _same_url(page: Page, target: Target) -> bool:
    """True when the redirect leads to the HTTPS form of the very URL asked for."""
    to = urlsplit(page.location)
    asked = urlsplit(page.url)
    if to.scheme != "https" or (to.hostname or "").lower() not in (target.sni, target.hostname):
        return False
    return (to.path or "/") == (asked.path or "/")


def _wordpress(config: OriginConfig) -> bool:
    root = config.docroot()
    return root is not None and ((root / "wp-config.php").is_file()
                                 or (root.parent / "wp-config.php").is_file())
