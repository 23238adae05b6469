"""The sandbox edge in front of a real nginx, seen from the visitor's side.

One nginx holds every origin of the test zone, each on its own loopback address; the
zone's records name documentation addresses that `origin_map` sends there. Certificates
come from the sandbox's own Origin CA through its API. Issue 6, item 1; field cases C01,
C07, C08, C23, C31.
"""

from __future__ import annotations

import json
import socket
import ssl
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from origincert.sandbox import Sandbox, SandboxSettings
from origincert.sandbox.data import utc_now
from tests.servers.nginx_tree import NginxTree

pytestmark = pytest.mark.servers

ACCOUNT = "e0e0c0de000000000000000000000001"
ZONE = "e0e0c0de0000000000000000000000a1"
TOKEN = "edge-test-token-all-permissions-0000000001"
DNS_ONLY_TOKEN = "edge-test-token-dns-only-000000000000000002"
MODES = ("off", "flexible", "full", "strict")

# origin name -> (record content, local address the edge is sent to)
ORIGINS = {
    "valid": ("198.51.100.1", "127.0.1.1"),
    "selfsigned": ("198.51.100.2", "127.0.1.2"),
    "wrongname": ("198.51.100.3", "127.0.1.3"),
    "expired": ("198.51.100.4", "127.0.1.4"),
    "no443": ("198.51.100.5", "127.0.1.5"),
    "plain443": ("198.51.100.6", "127.0.1.6"),
    "closed": ("198.51.100.7", "127.0.1.7"),
    "silent": ("198.51.100.8", "127.0.1.8"),
    "revoked": ("198.51.100.9", "127.0.1.9"),
    "aop": ("198.51.100.10", "127.0.1.10"),
    "loop": ("198.51.100.11", "127.0.1.11"),
    "picky": ("198.51.100.12", "127.0.1.12"),
}


def _record(name: str, origin: str, proxied: bool = True) -> dict:
    return {"type": "A", "name": name, "content": ORIGINS[origin][0], "proxied": proxied,
            "ttl": 1}


def _world() -> dict:
    records = [_record(f"{origin}.example.com", origin) for origin in ORIGINS]
    records += [
        _record("example.com", "valid"),
        _record("shop.example.com", "valid"),
        {"type": "CNAME", "name": "www.shop.example.com", "content": "shop.example.com",
         "proxied": True, "ttl": 1},
        {"type": "CNAME", "name": "alias.example.com", "content": "shop.example.com",
         "proxied": True, "ttl": 1},
        _record("*.tenants.example.com", "valid"),
        _record("grey.example.com", "valid", proxied=False),
        _record("sibling.example.com", "picky"),
    ]
    every = ["zone:read", "zone_settings:edit", "dns_records:edit", "ssl:edit"]
    return {
        "accounts": [{"id": ACCOUNT, "name": "Edge tests"}],
        "users": [],
        "tokens": [
            {"name": "all", "value": TOKEN, "status": "active",
             "policies": [{"permissions": every, "zones": [f"account:{ACCOUNT}"]}]},
            {"name": "dns", "value": DNS_ONLY_TOKEN, "status": "active",
             "policies": [{"permissions": ["dns_records:edit"], "zones": ["example.com"]}]},
        ],
        "zones": [{"id": ZONE, "name": "example.com", "account": ACCOUNT, "status": "active",
                   "plan": "free", "settings": {"ssl": "full"}, "dns_records": records}],
    }


# --- the origins -------------------------------------------------------------------------

ECHO = ('location = /headers { return 200 '
        '"$http_cf_visitor|$http_x_forwarded_proto|$http_cf_connecting_ip|$http_host|'
        '$http_cf_ray"; }')
PAGE = ("location = /page.html { default_type text/html; return 200 "
        "'<a href=\"http://shop.example.com/x\">in zone</a> "
        "<img src=\"http://grey.example.com/i.png\"> "
        "<script src=\"http://example.org/s.js\"></script>'; }")


NGINX_CONF = """\
events {}
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    include /etc/nginx/sites-enabled/*;
}
"""


# C21: a rejecting default server; only picky.example.com has a server block
PICKY = """\
server { listen 127.0.1.12:443 ssl default_server; ssl_reject_handshake on; }
server {
    listen 127.0.1.12:443 ssl;
    server_name picky.example.com;
    ssl_certificate /etc/nginx/edge-certs/valid.pem;
    ssl_certificate_key /etc/nginx/edge-certs/valid.key;
    location / { return 200 "picky $scheme\\n"; }
}
"""


def _server(origin: str, *, tls: str | None, extra: str = "", port80: str = "") -> str:
    address = ORIGINS[origin][1]
    lines = [f"server {{\n    listen {address}:80;\n    server_name _;"]
    if tls == "plain":
        lines.append(f"    listen {address}:443;")
    elif tls is not None:
        lines.append(f"    listen {address}:443 ssl;\n"
                     f"    ssl_certificate /etc/nginx/edge-certs/{tls}.pem;\n"
                     f"    ssl_certificate_key /etc/nginx/edge-certs/{tls}.key;")
    lines += [f"    {extra}", f"    {ECHO}", f"    {PAGE}", port80 or
              f'    location / {{ return 200 "{origin} $scheme\\n"; }}', "}"]
    return "\n".join(lines) + "\n"


def _site_config() -> str:
    return "".join([
        _server("valid", tls="valid"),
        _server("selfsigned", tls="selfsigned"),  # the harness makes a self-signed pair
        _server("wrongname", tls="apex-only"),
        _server("expired", tls="expired"),
        _server("no443", tls=None),
        _server("plain443", tls="plain"),
        _server("revoked", tls="revoked"),
        _server("aop", tls="valid", extra="ssl_verify_client on; "
                "ssl_client_certificate /etc/nginx/edge-certs/origin-pull-ca.pem;"),
        # C01: the origin forces HTTPS on port 80 only
        _server("loop", tls="valid", port80="    location / { if ($scheme = http) { "
                "return 301 https://$host$request_uri; } return 200 \"loop $scheme\\n\"; }"),
        PICKY,
    ])


@dataclass
class Stage:
    sb: Sandbox
    nginx: NginxTree
    revoked_id: str

    @property
    def zone(self):
        return self.sb.world.zone(ZONE)

    def set(self, **settings: str) -> None:
        for key, value in settings.items():
            self.zone.settings[key].value = value


def _issue(sb: Sandbox, hostnames: list[str], validity: int = 5475) -> tuple[str, str, str]:
    """(certificate id, certificate PEM, key PEM) from the sandbox Origin CA API."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0])]))
           .sign(key, hashes.SHA256()))
    body = {"csr": csr.public_bytes(serialization.Encoding.PEM).decode(),
            "hostnames": hostnames, "request_type": "origin-ecc",
            "requested_validity": validity}
    answer = httpx.post(sb.base_url + "/certificates", json=body,
                        headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.text
    result = answer.json()["result"]
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return result["id"], result["certificate"], key_pem


def _silent_origin(address: str) -> list[socket.socket]:
    """Listening sockets whose accept queue is full: new connections are never answered,
    so the edge's connect times out (522) without touching the namespace's routes."""
    kept = []
    for port in (80, 443):
        listener = socket.socket()
        listener.bind((address, port))
        listener.listen(0)
        filler = socket.create_connection((address, port), timeout=2)
        kept += [listener, filler]
    return kept


@pytest.fixture(scope="module")
def stage(tmp_path_factory) -> Stage:
    folder = tmp_path_factory.mktemp("edge")
    data = folder / "world.json"
    data.write_text(json.dumps(_world()))
    settings = SandboxSettings(
        edge=True, origin_map={content: local for content, local in ORIGINS.values()},
        edge_connect_timeout_s=1.0, edge_response_timeout_s=10.0)
    sb = Sandbox.start(data, state_dir=folder / "state", settings=settings)

    every = ["example.com", "*.example.com", "*.tenants.example.com"]
    files: dict[str, str] = {}
    for name, hostnames in (("valid", every), ("apex-only", ["example.com"]),
                            ("revoked", every)):
        cert_id, cert, key = _issue(sb, hostnames)
        files[f"edge-certs/{name}.pem"], files[f"edge-certs/{name}.key"] = cert, key
        if name == "revoked":
            revoked_id = cert_id
    # expired: issued for 7 days while the sandbox clock stood 30 days back
    sb.settings.clock = lambda: utc_now() - timedelta(days=30)
    _, files["edge-certs/expired.pem"], files["edge-certs/expired.key"] = _issue(sb, every, 7)
    sb.settings.clock = utc_now
    files["edge-certs/origin-pull-ca.pem"] = sb.edge.origin_pull_ca_pem()
    files["sites-enabled/origins"] = _site_config()
    files["nginx.conf"] = NGINX_CONF

    revoke = httpx.delete(f"{sb.base_url}/certificates/{revoked_id}",
                          headers={"Authorization": f"Bearer {TOKEN}"})
    assert revoke.status_code == 200, revoke.text

    nginx = NginxTree.from_files(files, folder / "nginx")
    silent = _silent_origin(ORIGINS["silent"][1])
    nginx.start()
    yield Stage(sb, nginx, revoked_id)
    nginx.stop()
    sb.stop()
    for sock in silent:
        sock.close()


@pytest.fixture
def edge(stage: Stage):
    """The stage with the zone back on Full and default settings after each test."""
    yield stage
    stage.set(ssl="full", always_use_https="off", automatic_https_rewrites="off",
              tls_client_auth="off", min_tls_version="1.0")
    stage.zone.hostname_ssl.clear()
    stage.sb.settings.clock = utc_now


@pytest.fixture
def visitor(stage: Stage):
    with stage.sb.edge.client(timeout=15.0) as client:
        yield client


def _handshake(sb: Sandbox, hostname: str) -> str:
    """The TLS version of a handshake with the edge for `hostname` (raises on failure)."""
    context = ssl.create_default_context(cadata=sb.edge.ca_pem())
    with socket.create_connection(("127.0.0.1", sb.edge.https_port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=hostname) as tls:
            return tls.version()


def _raw_get(sb: Sandbox, hostname: str, **limits) -> bytes:
    """What the edge answers to a bare GET over TLS; b"" when it hangs up."""
    context = ssl.create_default_context(cadata=sb.edge.ca_pem())
    for name, value in limits.items():
        setattr(context, name, value)
    with socket.create_connection(("127.0.0.1", sb.edge.https_port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=hostname) as tls:
            tls.sendall(f"GET / HTTP/1.1\r\nHost: {hostname}\r\n\r\n".encode())
            try:
                return tls.recv(65536)
            except (ConnectionError, ssl.SSLError):
                return b""


# --- SSL modes ---------------------------------------------------------------------------

# origin -> expected status of an HTTPS visitor under off, flexible, full, strict
HTTPS_MATRIX = {
    "valid": (200, 200, 200, 200),
    "selfsigned": (200, 200, 200, 526),
    "wrongname": (200, 200, 200, 526),
    "expired": (200, 200, 200, 526),
    "revoked": (200, 200, 200, 526),
    "no443": (200, 200, 521, 521),     # port 443 refuses the connection
    "plain443": (200, 200, 525, 525),  # C23: HTTP spoken on the TLS port
    "closed": (521, 521, 521, 521),
    "silent": (522, 522, 522, 522),
}


@pytest.mark.parametrize("origin", HTTPS_MATRIX)
def test_https_visitor_gets_the_status_each_ssl_mode_gives_for_this_origin(
        edge, visitor, origin):
    seen = {}
    for mode in MODES:
        edge.set(ssl=mode)
        answer = visitor.get(f"https://{origin}.example.com/")
        seen[mode] = answer.status_code
        assert answer.headers["server"] == "cloudflare"
        assert answer.headers["cf-ray"].endswith("-SBX")
        if answer.status_code == 200:
            # Off and Flexible fetch over HTTP, Full and strict over HTTPS
            scheme = "https" if mode in ("full", "strict") else "http"
            assert answer.text == f"{origin} {scheme}\n"
    assert tuple(seen[m] for m in MODES) == HTTPS_MATRIX[origin], seen


def test_origin_rejecting_unknown_sni_gives_525_for_the_sibling_name_c21(edge, visitor):
    edge.set(ssl="strict")
    assert visitor.get("https://picky.example.com/").text == "picky https\n"
    answer = visitor.get("https://sibling.example.com/", headers={"Accept": "application/json"})
    assert answer.status_code == 525
    assert "unrecognized name" in answer.json()["detail"]


def test_http_visitor_is_fetched_over_http_even_under_strict(edge, visitor):
    edge.set(ssl="strict")
    answer = visitor.get("http://selfsigned.example.com/")
    assert (answer.status_code, answer.text) == (200, "selfsigned http\n")


def test_strict_checks_dates_with_the_sandbox_clock(edge, visitor):
    edge.set(ssl="strict")
    assert visitor.get("https://valid.example.com/").status_code == 200

    edge.sb.settings.clock = lambda: utc_now() + timedelta(days=5475 + 1)
    answer = visitor.get("https://valid.example.com/", headers={"Accept": "application/json"})
    assert answer.status_code == 526
    assert "expired" in answer.json()["detail"]


def test_ssl_mode_change_through_the_api_applies_to_the_next_request(edge, visitor):
    assert visitor.get("https://selfsigned.example.com/").status_code == 200
    patched = httpx.patch(f"{edge.sb.base_url}/zones/{ZONE}/settings/ssl",
                          json={"value": "strict"},
                          headers={"Authorization": f"Bearer {TOKEN}"})
    assert patched.status_code == 200
    assert visitor.get("https://selfsigned.example.com/").status_code == 526


def test_config_rule_sets_strict_for_one_hostname_only(edge, visitor):
    url = f"{edge.sb.base_url}/zones/{ZONE}/rulesets/phases/http_config_settings/entrypoint"
    rule = {"expression": '(http.host eq "selfsigned.example.com")', "action": "set_config",
            "action_parameters": {"ssl": "strict"}}
    put = httpx.put(url, json={"rules": [rule]}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert put.status_code == 200, put.text

    assert visitor.get("https://selfsigned.example.com/").status_code == 526
    assert visitor.get("https://wrongname.example.com/").status_code == 200  # zone: Full
    got = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"}).json()["result"]
    assert got["rules"][0]["action_parameters"] == {"ssl": "strict"}


# --- error pages -------------------------------------------------------------------------


def test_52x_answers_rfc9457_json_when_the_visitor_accepts_json(edge, visitor):
    edge.set(ssl="strict")
    answer = visitor.get("https://selfsigned.example.com/",
                         headers={"Accept": "application/json"})
    body = answer.json()
    assert answer.status_code == 526
    assert body["status"] == 526 and body["error_code"] == 526
    assert body["error_category"] == "ssl"
    assert body["title"] == "Invalid SSL certificate"
    assert body["instance"] == answer.headers["cf-ray"]
    assert "retry-after" not in answer.headers

    down = visitor.get("https://closed.example.com/", headers={"Accept": "application/json"})
    assert (down.status_code, down.json()["title"]) == (521, "Web server is down")


def test_52x_answers_an_html_page_by_default(edge, visitor):
    answer = visitor.get("https://plain443.example.com/")
    assert answer.status_code == 525
    assert answer.headers["content-type"].startswith("text/html")
    assert "Error code 525" in answer.text and answer.headers["cf-ray"] in answer.text


# --- which names the edge serves ---------------------------------------------------------


def test_deeper_name_fails_the_edge_handshake_while_one_level_works_c07(edge, visitor):
    assert _handshake(edge.sb, "shop.example.com")
    assert visitor.get("https://shop.example.com/").status_code == 200
    with pytest.raises(ssl.SSLError, match="HANDSHAKE_FAILURE"):
        _handshake(edge.sb, "www.shop.example.com")
    with pytest.raises(httpx.ConnectError):
        visitor.get("https://www.shop.example.com/")


def test_proxied_wildcard_two_levels_down_is_served_over_http_only_c08(edge, visitor):
    answer = visitor.get("http://t1.tenants.example.com/")
    assert (answer.status_code, answer.text) == (200, "valid http\n")
    with pytest.raises(httpx.ConnectError):
        visitor.get("https://t1.tenants.example.com/")


def test_proxied_cname_is_resolved_within_the_zone(edge, visitor):
    answer = visitor.get("https://alias.example.com/headers")
    assert answer.status_code == 200
    assert answer.text.split("|")[3] == "alias.example.com"


def test_grey_record_and_unknown_names_are_not_served(edge, visitor):
    grey = visitor.get("https://grey.example.com/", headers={"Accept": "application/json"})
    assert grey.status_code == 530
    assert "DNS only" in grey.json()["detail"]
    assert visitor.get("http://grey.example.com/").status_code == 530
    assert visitor.get("http://nothing.example.org/").status_code == 530
    with pytest.raises(ssl.SSLError, match="HANDSHAKE_FAILURE"):
        _handshake(edge.sb, "nothing.example.org")


def test_min_tls_version_cuts_off_older_visitors(edge):
    edge.set(min_tls_version="1.3")
    assert _raw_get(edge.sb, "valid.example.com").startswith(b"HTTP/1.1 200")
    old = _raw_get(edge.sb, "valid.example.com", maximum_version=ssl.TLSVersion.TLSv1_2)
    assert old == b""


# --- settings and headers ----------------------------------------------------------------


def test_always_use_https_redirects_http_visitors(edge, visitor):
    edge.set(always_use_https="on")
    answer = visitor.get("http://valid.example.com/a/b?c=1")
    assert answer.status_code == 301
    assert answer.headers["location"] == "https://valid.example.com/a/b?c=1"
    assert visitor.get("https://valid.example.com/").status_code == 200


def test_automatic_https_rewrites_upgrade_links_to_proxied_names_of_the_zone(edge, visitor):
    before = visitor.get("https://valid.example.com/page.html").text
    assert 'href="http://shop.example.com/x"' in before

    edge.set(automatic_https_rewrites="on")
    after = visitor.get("https://valid.example.com/page.html").text
    assert 'href="https://shop.example.com/x"' in after
    assert 'src="http://grey.example.com/i.png"' in after  # not proxied: left alone
    assert 'src="http://example.org/s.js"' in after        # another zone: left alone


def test_origin_sees_cloudflare_headers(edge, visitor):
    https = visitor.get("https://valid.example.com/headers")
    cf_visitor, proto, address, host, ray = https.text.split("|")
    assert json.loads(cf_visitor) == {"scheme": "https"}
    assert (proto, address, host) == ("https", "127.0.0.1", "valid.example.com")
    assert ray == https.headers["cf-ray"]

    http = visitor.get("http://valid.example.com/headers", headers={"CF-Connecting-IP": "1.2.3.4"})
    cf_visitor, proto, address, _, _ = http.text.split("|")
    assert (json.loads(cf_visitor), proto, address) == ({"scheme": "http"}, "http", "127.0.0.1")


def test_flexible_with_an_origin_redirect_loops_c01(edge, visitor):
    edge.set(ssl="flexible")
    locations, url = [], "https://loop.example.com/"
    for _ in range(5):
        answer = visitor.get(url)
        assert answer.status_code == 301
        url = answer.headers["location"]
        locations.append(url)
    assert locations == ["https://loop.example.com/"] * 5
    with pytest.raises(httpx.TooManyRedirects):
        visitor.get("https://loop.example.com/", follow_redirects=True)

    edge.set(ssl="full")  # the fix: the origin is reached over HTTPS
    assert visitor.get("https://loop.example.com/", follow_redirects=True).text == "loop https\n"


# --- Authenticated Origin Pulls ----------------------------------------------------------


def test_origin_requiring_the_pull_certificate_accepts_only_zones_with_aop_on_c31(
        edge, visitor):
    edge.set(ssl="strict")
    refused = visitor.get("https://aop.example.com/")
    assert refused.status_code == 400
    assert "No required SSL certificate was sent" in refused.text

    edge.set(tls_client_auth="on")
    assert visitor.get("https://aop.example.com/").text == "aop https\n"
    edge.set(ssl="full")
    assert visitor.get("https://aop.example.com/").status_code == 200


def test_meta_endpoint_names_the_running_edge(edge):
    info = httpx.get(edge.sb.base_url + "/origincert-sandbox/edge").json()["result"]
    assert info["http"] == edge.sb.edge.http_url
    assert info["https"] == edge.sb.edge.https_url
    assert info["edge_ca"] == edge.sb.edge.ca_pem()
    assert info["origin_pull_ca"] == edge.sb.edge.origin_pull_ca_pem()


def test_head_request_gets_the_origin_headers_without_a_body(edge, visitor):
    answer = visitor.head("https://valid.example.com/")
    assert answer.status_code == 200
    assert answer.headers["content-length"] == str(len("valid https\n"))
    assert answer.content == b""
