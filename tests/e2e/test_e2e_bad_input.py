"""Issue #3, "Bad input", options, --dry-run, --json and the private key, on a real nginx.

debian-wordpress, plus one site for www.example.io (a zone of another
Cloudflare account, which the Agency token cannot reach). Every refusal:
exactly one line on stderr naming the cause and what to do, exit status 1
(usage errors 2), and the server as it was: config files byte-identical, the
same certificates installed, no certificate asked of the API.
"""

from __future__ import annotations

import base64
import shutil
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from tests.e2e.origin import ANY_V4, Origin, Run, agency_token, leaf_der, observe, sample
from tests.servers.nginx_tree import NGINX_FIXTURES

pytestmark = pytest.mark.servers

SHOP = ("shop.example.com", "www.shop.example.com")
BLOG = ("blog.example.org",)
IO_SITE = """\
server {
    listen 80;
    server_name www.example.io;
    root /var/www/html;
}
"""


@pytest.fixture(scope="module")
def origin(sb, make_origin, tmp_path_factory) -> Origin:
    source = tmp_path_factory.mktemp("source") / "tree"
    shutil.copytree(NGINX_FIXTURES / "debian-wordpress", source, symlinks=True)
    (source / "sites-enabled" / "www.example.io").write_text(IO_SITE)
    made = make_origin("debian-wordpress-io", source)
    made.connect("agency", agency_token("full access"), sb.base_url)
    made.connect("nossl", agency_token("no SSL permission"), sb.base_url)
    return made


@pytest.fixture
def unchanged(origin: Origin, sb):
    """Asserts, after the test, that nothing changed on the server or at the API."""
    files, rows = origin.snapshot(), origin.certs()
    served = {name: observe(ANY_V4, 443, name) for name in SHOP + BLOG}
    issued = set(sb.world.certificates)
    yield
    assert origin.snapshot() == files, "a config file changed"
    assert origin.certs() == rows
    assert {name: observe(ANY_V4, 443, name) for name in SHOP + BLOG} == served
    assert set(sb.world.certificates) == issued, "a certificate was issued"


@pytest.mark.parametrize("name", ["exa mple.com", "*.*.example.com", "203.0.113.10"])
def test_a_name_that_is_not_a_hostname_is_refused_before_any_api_call(
    origin, unchanged, sb, name
):
    calls = len(sb.request_log)

    run = origin.cli("issue", name)

    line = _refused(run, 1)
    assert name in line, line
    assert len(sb.request_log) == calls


def test_a_zone_no_connected_account_reaches_is_named(origin, unchanged):
    run = origin.cli("issue", "www.example.io")

    line = _refused(run, 1)
    assert "no connected account reaches the zone of www.example.io" in line
    assert "connect an account" in line


def test_a_token_without_ssl_edit_names_the_missing_permission_and_generates_nothing(
    origin, unchanged
):
    keys = _key_files(origin)

    run = origin.cli("issue", *SHOP, "--account", "nossl")

    line = _refused(run, 1)
    assert "Zone → SSL and Certificates → Edit" in line, line
    assert _key_files(origin) == keys, "a key was generated for a run that could not issue"


def test_names_served_by_different_sites_are_refused_naming_both(origin, unchanged):
    run = origin.cli("issue", *BLOG, SHOP[0])

    line = _refused(run, 1)
    assert "different sites" in line and "blog.example.org" in line and "shop.example.com" in line
    assert "per site" in line


@pytest.mark.parametrize("option", [("--validity", "42"), ("--key-type", "dsa")])
def test_an_option_value_cloudflare_does_not_offer_is_a_usage_error(
    origin, unchanged, sb, option
):
    calls = len(sb.request_log)

    run = origin.cli("issue", *SHOP, *option)

    line = _refused(run, 2)
    assert " ".join(option) in line, line
    assert len(sb.request_log) == calls


def test_dry_run_prints_plan_and_diff_and_changes_nothing(origin, unchanged, sb):
    keys, calls = _key_files(origin), len(sb.request_log)

    run = origin.cli("issue", *SHOP, "--dry-run")

    assert run.code == 0, run
    assert "plan for shop.example.com, www.shop.example.com (dry run" in run.stdout
    assert "would change " in run.stdout
    assert "\n+\tlisten 443 ssl;" in run.stdout or "\n+    listen 443 ssl;" in run.stdout, run
    assert "+++ b" in run.stdout and "@@ " in run.stdout
    assert _key_files(origin) == keys
    writes = [r for r in sb.request_log[calls:] if r.method != "GET"]
    assert writes == [], f"a dry run wrote to the API: {writes}"


def test_dry_run_json_parses_and_has_the_documented_fields(origin, unchanged, sb):
    run = origin.cli("issue", *SHOP, "--dry-run", "--json")

    assert run.code == 0, run
    result = run.json()
    assert result["status"] == "planned"
    assert result["hostnames"] == list(SHOP)
    assert result["account"] == "agency" and result["zones"] == ["example.com"]
    assert result["site"] == "shop.example.com"
    assert result["site_file"].endswith("sites-available/shop.example.com")
    assert any(path.endswith("sites-available/shop.example.com")
               for path in result["config_files"])
    assert "listen 443 ssl" in result["diff"]
    assert result["certificate"] == {} and result["verified"] == []


def test_key_type_rsa_issues_an_origin_rsa_certificate_that_nginx_serves(origin, sb):
    run = origin.cli("issue", *BLOG, "--key-type", "rsa", "--json")

    assert run.code == 0, run
    result = run.json()
    assert result["status"] == "installed" and result["certificate"]["key_type"] == "rsa"
    assert sb.world.certificates[result["certificate"]["cloudflare_id"]].request_type == (
        "origin-rsa")
    row = next(r for r in origin.certs() if r["hostnames"] == list(BLOG))
    served = observe(ANY_V4, 443, sample(BLOG[0]))
    assert served == leaf_der(row["certificate_file"])
    assert isinstance(x509.load_der_x509_certificate(served).public_key(), rsa.RSAPublicKey)
    assert result["verified"] and result["lineage"]


def test_default_issue_json_has_the_documented_fields(origin, sb):
    run = origin.cli("issue", *SHOP, "--json")

    assert run.code == 0, run
    result = run.json()
    assert result["status"] == "installed"
    assert set(result) >= {"status", "lineage", "hostnames", "account", "zones", "site",
                           "site_file", "config_files", "certificate", "verified", "notes",
                           "diff"}
    cert = result["certificate"]
    assert cert["key_type"] == "ecdsa" and cert["status"] == "installed"
    assert sb.world.certificates[cert["cloudflare_id"]].request_type == "origin-ecc"
    assert sorted(cert["hostnames"]) == sorted(SHOP)


def test_private_keys_are_0600_and_never_appear_in_any_output_or_log(origin):
    keys = _key_files(origin)
    assert len(keys) >= 2, "the tests above installed two certificates"

    seen = "".join(run.stdout + run.stderr for run in origin.runs)
    logs = b"".join(p.read_bytes() for p in origin.state.rglob("*")
                    if p.is_file() and p.name != "privkey.pem")
    for path in keys:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        pem = path.read_bytes()
        load_pem_private_key(pem, password=None)
        body = b"".join(pem.splitlines()[1:-1])
        der = base64.b64decode(body)
        for fragment in (body[:40], body[-40:]):
            assert fragment.decode() not in seen, f"{path} appears in the CLI output"
            assert fragment not in logs, f"{path} appears in the state beside the key file"
        assert der[-32:] not in logs
    assert "PRIVATE KEY" not in seen


def _refused(run: Run, code: int) -> str:
    """The one line a refused run prints; it names a cause and what to do."""
    assert run.code == code, run
    lines = run.error_lines()
    assert len(lines) == 1, run
    assert lines[0].startswith("origincert: error: "), run
    assert "; " in lines[0], f"no advice in: {lines[0]}"
    assert "Traceback" not in run.stderr and "bug" not in run.stderr
    return lines[0]


def _key_files(origin: Origin) -> list:
    return sorted(p for p in origin.state.rglob("privkey.pem") if not p.is_symlink()
                  and not p.parent.is_symlink())
