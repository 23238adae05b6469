"""Mixed content and WordPress behind the proxy (field cases C03, C05).

The page is fetched from the origin with its real name, the way Cloudflare
fetches it in the zone's SSL mode; every subresource and form that goes over
``http://`` is listed. For WordPress (``wp-config.php`` in the document root)
``siteurl`` and ``home`` are read through WP-CLI when it is installed, and the
configuration is read for how PHP learns that the visitor used HTTPS.
"""

from __future__ import annotations

import shutil
from html.parser import HTMLParser
from pathlib import Path

from origincert.doctor.checks import host_check
from origincert.doctor.config import OriginConfig
from origincert.doctor.facts import Facts, Target
from origincert.doctor.findings import ERROR, INFO, WARNING, ZONE_FIX, Finding, Fix, finding
from origincert.runner import run

# tag → attribute that loads something with the page (an <a href> is only a link)
_LOADS = {"script": "src", "img": "src", "iframe": "src", "source": "src", "audio": "src",
          "video": "src", "embed": "src", "object": "data", "link": "href", "form": "action"}
_ACTIVE = {"script", "iframe", "link", "object", "embed", "form"}
_SHOWN = 8


class _Insecure(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = _LOADS.get(tag)
        if wanted is None:
            return
        values = dict(attrs)
        if tag == "link" and "stylesheet" not in (values.get("rel") or "") \
                and "icon" not in (values.get("rel") or ""):
            return
        url = (values.get(wanted) or "").strip()
        if url.lower().startswith("http://"):
            self.found.append((tag, url))


@host_check
def mixed_content(target: Target, facts: Facts, config: OriginConfig) -> list[Finding]:
    if target.zone is None or target.hostname.startswith("*."):
        return []
    dns = facts.dns(target)
    if not dns.proxied or not dns.addresses:
        return []
    mode = facts.mode(target)
    page = facts.page(dns.addresses[0], target.sni, tls=mode in ("full", "strict"))
    if page.status != 200 or "html" not in page.headers.get("content-type", "html"):
        return []
    parser = _Insecure()
    parser.feed(page.body)
    if not parser.found:
        return []

    rewrites = facts.setting(target, "automatic_https_rewrites")
    active = [f"{tag} {url}" for tag, url in parser.found if tag in _ACTIVE]
    passive = [f"{tag} {url}" for tag, url in parser.found if tag not in _ACTIVE]
    evidence = [f"GET {page.url} (Host {target.hostname}): {len(parser.found)} http:// "
                "subresource(s) or form(s)"]
    evidence += [f"blocked (active): {item}" for item in active[:_SHOWN]]
    evidence += [f"upgraded or warned (passive): {item}" for item in passive[:_SHOWN]]
    evidence.append(f"Automatic HTTPS Rewrites: {rewrites}")
    found = [finding(
        "content.mixed", WARNING, target.hostname, "the page loads content over http://",
        zone=target.zone.name, case="C05", evidence=evidence,
        explanation=("Browsers block scripts, styles, frames and forms loaded over http:// on "
                     "an HTTPS page and drop the padlock for images. Automatic HTTPS Rewrites "
                     "upgrades only links it knows to be HTTPS-capable; the lasting fix is in "
                     "the site or its database."),
        fix=Fix("change the site's URLs to https:// (WordPress: siteurl and home, then a "
                "search-replace of stored URLs)"))]
    if rewrites != "on":
        zone = target.zone.name
        found.append(finding(
            "zone.https_rewrites_off", WARNING, zone,
            "Automatic HTTPS Rewrites is off while pages have mixed content", zone=zone,
            evidence=[f"automatic_https_rewrites of {zone}: {rewrites}",
                      f"mixed content on {target.hostname}"],
            explanation="The setting upgrades many http:// links on the fly; a stopgap, not a "
                        "fix.",
            fix=Fix("turn Automatic HTTPS Rewrites on",
                    command=f"origincert doctor --fix {target.hostname}", action=ZONE_FIX,
                    target=())))
    return found


@host_check
def wordpress(target: Target, facts: Facts, config: OriginConfig) -> list[Finding]:
    root = config.docroot()
    wp_config = _wp_config(root)
    if wp_config is None or target.hostname.startswith("*."):
        return []
    return _siteurl(target, facts, root) + _https_detection(target, facts, config, wp_config)


def _wp_config(root: Path | None) -> Path | None:
    if root is None:
        return None
    for candidate in (root / "wp-config.php", root.parent / "wp-config.php"):
        if candidate.is_file():
            return candidate
    return None


def _siteurl(target: Target, facts: Facts, root: Path) -> list[Finding]:
    zone = target.zone.name if target.zone else None
    wp = shutil.which(facts.options.wp_cli)
    if wp is None:
        return [finding(
            "wordpress.siteurl", INFO, target.hostname, "WordPress siteurl and home: unknown",
            zone=zone, evidence=[f"WordPress in {root}", f"WP-CLI ({facts.options.wp_cli}) is "
                                 "not installed"],
            explanation="Without WP-CLI origincert does not read the WordPress database.",
            fix=Fix("check Settings → General: both addresses should start with https://"))]
    values = {}
    for option in ("siteurl", "home"):
        done = run([wp, "option", "get", option, f"--path={root}", "--allow-root"], timeout=30)
        values[option] = done.stdout.strip() if done.ok else None
    insecure = {k: v for k, v in values.items() if v and v.lower().startswith("http://")}
    if not insecure:
        return []
    return [finding(
        "wordpress.siteurl", WARNING, target.hostname, "WordPress still believes it runs on "
        "http://", zone=zone, case="C05",
        evidence=[f"wp option get {k}: {v}" for k, v in values.items()],
        explanation=("WordPress builds absolute links from siteurl and home, so every script, "
                     "style and image it emits is http://: mixed content on the HTTPS page."),
        fix=Fix("set both to https:// and replace stored URLs",
                command=f"wp search-replace 'http://{target.hostname}' "
                        f"'https://{target.hostname}' --path={root}"))]


def _https_detection(target: Target, facts: Facts, config: OriginConfig,
                     wp_config: Path) -> list[Finding]:
    text = wp_config.read_text(errors="replace")
    if "HTTP_X_FORWARDED_PROTO" in text or "HTTP_CF_VISITOR" in text:
        return []
    mode = facts.mode(target) if target.zone is not None else None
    behind = _tls_ends_before_php(config, mode)
    if behind is None:
        return []
    force = "FORCE_SSL_ADMIN" in text and "true" in text.split("FORCE_SSL_ADMIN", 1)[1][:40]
    return [finding(
        "wordpress.https_detection", ERROR if force else WARNING, target.hostname,
        "WordPress cannot tell the request was HTTPS",
        zone=target.zone.name if target.zone else None, case="C03",
        evidence=[behind, f"{wp_config}: no handling of X-Forwarded-Proto or CF-Visitor"]
        + (["FORCE_SSL_ADMIN is on: /wp-admin/ redirects to itself"] if force else []),
        explanation=("TLS ends before PHP, so is_ssl() is false: WordPress emits http:// links "
                     "and, with FORCE_SSL_ADMIN or an https siteurl, redirects to HTTPS forever. "
                     "WordPress itself does not read X-Forwarded-Proto."),
        fix=Fix("set HTTPS=on for PHP only when the trusted proxy says the visitor used "
                "https: nginx `fastcgi_param HTTPS on;` in the TLS server block, Apache "
                "`SetEnvIf X-Forwarded-Proto \"^https$\" HTTPS=on` limited to Cloudflare's "
                "ranges, or a guarded snippet in wp-config.php"))]


def _tls_ends_before_php(config: OriginConfig, mode: str | None) -> str | None:
    """Why PHP does not see HTTPS, or None when it does (or cannot be told)."""
    forwarded = [args for name in ("fastcgi_param", "setenvif", "setenv", "requestheader")
                 for args in config.values(name)
                 if any("forwarded_proto" in a.lower() or "x-forwarded-proto" in a.lower()
                        for a in args)]
    if forwarded:
        return None
    if mode == "flexible":
        return ("SSL mode Flexible: Cloudflare reaches the origin over HTTP, and nothing maps "
                "X-Forwarded-Proto to HTTPS for PHP")
    proxied = config.values("proxy_pass", tls=True)
    if proxied:
        return (f"the TLS server block ({config.where(tls=True)}) passes requests to "
                f"{proxied[0][0]} over plain HTTP")
    return None
