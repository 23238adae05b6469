"""Issue #3, "Tests": every site of every nginx fixture tree through `origincert issue`.

Each tree is copied, run by a real nginx, and every one of its sites is taken
through the real CLI against the sandbox (agency.json, the "full access"
token). Then a real TLS handshake per hostname must meet exactly the
certificate the state records, for exactly the site's names, chaining to the
sandbox root; and a second `issue` must change nothing at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature

from tests.e2e.origin import ANY_V4, Origin, agency_token, leaf_der, observe, sample
from tests.servers.nginx_tree import TREES

pytestmark = pytest.mark.servers


@dataclass(frozen=True)
class Expected:
    """A site of a fixture tree as its files define it, and where it must answer TLS."""

    names: tuple[str, ...]
    replace: bool = False           # it already serves another certificate
    address: str = ANY_V4           # where its 443 listener is reachable
    ipv6: bool = False              # it listens on IPv6 too, so HTTPS must as well


SITES = {
    "debian-wordpress": (
        Expected(("blog.example.org",)),
        Expected(("shop.example.com", "www.shop.example.com"), ipv6=True),
    ),
    "letsencrypt-managed": (
        Expected(("example.net", "www.example.net"), replace=True, ipv6=True),
    ),
    "reverse-proxy": (
        Expected(("agency.example.com", "www.agency.example.com")),
        Expected(("store.example.org",)),
        Expected(("docs.example.org",), replace=True),
    ),
    "tricky": (
        Expected(("*.tenants.example.com",)),
        Expected(("api.example.com",)),
        # one site, two zones of the same account: one certificate for both names
        Expected(("legacy.example.com", "legacy.example.net"), address="203.0.113.10"),
        Expected(("old.example.com",), replace=True),
    ),
}


@dataclass
class Issued:
    origin: Origin
    sites: tuple[Expected, ...]
    runs: dict[tuple[str, ...], object]


@pytest.fixture(scope="module", params=TREES)
def issued(request, sb, make_origin) -> Issued:
    """One tree, every site issued once through the CLI."""
    origin = make_origin(request.param)
    origin.connect("agency", agency_token("full access"), sb.base_url)
    sites = SITES[request.param]
    runs = {}
    for site in sites:
        extra = ["--replace"] if site.replace else []
        runs[site.names] = origin.cli("issue", *site.names, *extra)
    return Issued(origin, sites, runs)


def test_the_table_names_every_site_of_the_tree(issued):
    served = {name for site in issued.origin.tree.nginx.sites() for name in site.hostnames}
    expected = {name for site in issued.sites for name in site.names}
    assert served - {"_"} == expected


def test_issue_of_every_site_exits_0_and_says_installed_and_verified(issued):
    for names, run in issued.runs.items():
        assert run.code == 0, run
        assert "installed and verified: " + ", ".join(names) in run.stdout, run
        assert run.stderr == "", run


def test_every_hostname_serves_exactly_the_certificate_in_the_state(issued, sb):
    rows = issued.origin.certs()
    roots = [x509.load_pem_x509_certificate(pem.encode()) for pem in sb.root_pems().values()]
    assert len(rows) == len(issued.sites)

    for site in issued.sites:
        row = _row_for(rows, site.names)
        expected = leaf_der(row["certificate_file"])
        leaf = x509.load_der_x509_certificate(expected)
        assert sorted(_sans(leaf)) == sorted(site.names)
        assert _chains_to(leaf, roots), f"{site.names} does not chain to the sandbox root"
        assert row["cloudflare_id"] in sb.world.certificates

        for name in site.names:
            for host in _hosts(site):
                seen = observe(host, 443, sample(name))
                assert seen == expected, f"{name} at {host}:443 served {seen!r:.60}"


def test_second_issue_of_the_same_names_changes_nothing(issued, sb):
    origin = issued.origin
    before = origin.snapshot()
    issued_before = _issued(sb)
    rows = origin.certs()

    for site in issued.sites:
        # no --replace: the certificate the site serves now is origincert's own
        run = origin.cli("issue", *site.names, "--json")
        assert run.code == 0, run
        result = run.json()
        assert result["status"] == "unchanged", run
        assert result["certificate"]["cloudflare_id"] == _row_for(rows, site.names)[
            "cloudflare_id"]

    assert _issued(sb) == issued_before, "a second issue got a new certificate"
    assert origin.snapshot() == before
    assert origin.certs() == rows


def _row_for(rows: list[dict], names: tuple[str, ...]) -> dict:
    found = [row for row in rows if sorted(row["hostnames"]) == sorted(names)]
    assert len(found) == 1, f"{names}: {len(found)} installed certificates in the state"
    return found[0]


def _hosts(site: Expected) -> list[str]:
    return [site.address] + (["::1"] if site.ipv6 else [])


def _sans(cert: x509.Certificate) -> list[str]:
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    return ext.value.get_values_for_type(x509.DNSName)


def _chains_to(leaf: x509.Certificate, roots: list[x509.Certificate]) -> bool:
    for root in roots:
        try:
            leaf.verify_directly_issued_by(root)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return True
    return False


def _issued(sb) -> tuple[int, set[str]]:
    """Certificates the sandbox signed: successful requests, and what it holds."""
    posts = sum(1 for r in sb.request_log if r.method == "POST" and r.status < 300
                and r.path.endswith("/certificates"))
    return posts, set(sb.world.certificates)
