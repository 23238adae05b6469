"""Running the sandbox: rate limit, injected failures and latency, the data file checks,
roots that survive restarts, /ips without credentials, and the CLI function."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import cloudflare
import httpx
import pytest
from cryptography import x509

from origincert.sandbox import Sandbox, SandboxDataError, SandboxSettings, load_world
from sandbox_helpers import OWNER, TOKENS, ZONE_COM, bearer


def test_rate_limit_answers_429_with_retry_after_and_the_configured_numbers(sb, http):
    sb.settings.rate_limit = (3, 60.0)

    statuses = [http.get("zones", headers=bearer("full")).status_code for _ in range(3)]
    refused = http.get("zones", headers=bearer("full"))
    other = http.get("zones", headers=bearer("read_only"))

    assert statuses == [200, 200, 200]
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.json()["errors"][0] == {
        "code": 10100, "message": "More than 3 requests per 60 seconds reached. Please wait "
                                  "and consider throttling your request speed"}
    assert refused.headers["Ratelimit-Policy"] == '"default";q=3;w=60'
    assert other.status_code == 200  # the budget is per credential


def test_a_users_token_shares_the_users_budget_an_account_token_has_its_own(
        tmp_path, agency_path):
    """Fact sheet §4: per user, across their key and tokens; per account token apart."""
    world = json.loads(agency_path.read_text())
    owned = next(t for t in world["tokens"] if t["value"] == TOKENS["full"])
    owned["owner"] = OWNER[0].upper()  # emails match whatever their case
    path = tmp_path / "world.json"
    path.write_text(json.dumps(world))
    key = {"X-Auth-Email": OWNER[0], "X-Auth-Key": OWNER[1]}

    with Sandbox.start(path, state_dir=tmp_path / "sandbox",
                       settings=SandboxSettings(rate_limit=(2, 60.0))) as running:
        with httpx.Client(base_url=running.base_url + "/") as http:
            statuses = [http.get("zones", headers=key).status_code,
                        http.get("zones", headers=bearer("full")).status_code]
            refused = http.get("zones", headers=bearer("full"))
            apart = http.get("zones", headers=bearer("read_only"))

    assert statuses == [200, 200]
    assert refused.status_code == 429
    assert apart.status_code == 200


def test_sdk_sees_rate_limit_error(sb, make_client):
    sb.settings.rate_limit = (1, 60.0)
    client = make_client(token=TOKENS["full"])
    client.zones.get(zone_id=ZONE_COM)

    with pytest.raises(cloudflare.RateLimitError):
        client.zones.get(zone_id=ZONE_COM)


def test_ips_needs_no_credentials_and_is_not_metered(sb, make_client):
    sb.settings.rate_limit = (1, 60.0)
    client = make_client(token=TOKENS["full"])

    for _ in range(3):
        ips = client.ips.list(extra_headers={"Authorization": cloudflare.Omit()})

    assert "173.245.48.0/20" in ips.ipv4_cidrs and "2606:4700::/32" in ips.ipv6_cidrs
    assert len(ips.ipv4_cidrs) == 15 and len(ips.ipv6_cidrs) == 7 and ips.etag


def test_injected_failure_fails_the_given_number_of_calls_then_recovers(sb, http):
    sb.inject_failure("GET", r"/settings/ssl$", status=502, times=2)
    path = f"zones/{ZONE_COM}/settings/ssl"

    statuses = [http.get(path, headers=bearer("full")).status_code for _ in range(3)]

    assert statuses == [502, 502, 200]
    assert [s for m, p, s in sb.request_log] == [502, 502, 200]


def test_injected_timeout_holds_the_connection_past_the_client_timeout(sb):
    sb.inject_failure("*", r"^/zones$", kind="timeout")

    with pytest.raises(httpx.ReadTimeout):
        httpx.get(sb.base_url + "/zones", headers=bearer("full"), timeout=0.3)
    after = httpx.get(sb.base_url + "/zones", headers=bearer("full"))

    assert after.status_code == 200


def test_latency_setting_still_answers(sb, http):
    sb.settings.latency_ms = 20

    assert http.get("zones", headers=bearer("full")).status_code == 200


def test_every_response_has_a_cf_ray_even_errors(sb):
    urls = [sb.base_url + "/zones", sb.base_url + "/nope", sb.base_url.rsplit("/client", 1)[0]]

    rays = [httpx.get(url).headers.get("cf-ray", "") for url in urls]
    wrong_method = httpx.post(sb.base_url + "/zones", headers=bearer("full"))

    assert all(r.endswith("-SBX") and len(r) == 20 for r in rays) and len(set(rays)) == 3
    assert wrong_method.status_code == 405 and wrong_method.headers["cf-ray"]
    assert wrong_method.json()["success"] is False


def test_roots_persist_across_restarts_with_the_same_state_folder(agency_path, tmp_path):
    with Sandbox.start(agency_path, state_dir=tmp_path) as first:
        roots = first.root_pems()
    with Sandbox.start(agency_path, state_dir=tmp_path) as second:
        again = second.root_pems()

    assert roots == again and set(roots) == {"rsa", "ecc"}
    for pem in roots.values():
        subject = x509.load_pem_x509_certificate(pem.encode()).subject.rfc4514_string()
        assert "O=origincert sandbox" in subject and "Sandbox" in subject
    for name in ("rsa-root.key", "ecc-root.key"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600


def _broken(tmp_path: Path, agency_path: Path, change) -> Path:
    data = json.loads(agency_path.read_text())
    change(data)
    path = tmp_path / "agency.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("change, expected", [
    (lambda d: d["zones"][2]["dns_records"][0].update(type="XX"),
     'zones[2].dns_records[0].type: expected one of A, AAAA,'),
    (lambda d: d["zones"][0].pop("account"), "zones[0]: missing required key 'account'"),
    (lambda d: d["tokens"][1]["policies"][0]["permissions"].append("ssl:write"),
     "tokens[1].policies[0].permissions[2]: expected one of zone:read"),
    (lambda d: d["tokens"][0]["policies"][0]["zones"].append("nowhere.example"),
     'tokens[0].policies[0].zones[1]: unknown zone "nowhere.example"'),
    (lambda d: d["zones"][1].update(id="XYZ"), "zones[1].id: expected 32 lowercase hex"),
    (lambda d: d["zones"][0]["settings"].update(ssl="full_strict"),
     'zones[0].settings.ssl: expected one of off, flexible'),
    (lambda d: d["tokens"][5].update(expires_on="soon"), "tokens[5].expires_on: expected an RFC"),
    (lambda d: d["tokens"][0].update(owner="nobody@example.com"),
     'tokens[0].owner: no user has the email "nobody@example.com"'),
    (lambda d: d["zones"][0]["dns_records"][16].pop("priority"),
     "zones[0].dns_records[16]: missing required key 'priority'"),
])
def test_malformed_data_file_names_the_file_the_place_and_the_problem(
        tmp_path, agency_path, change, expected):
    path = _broken(tmp_path, agency_path, change)

    with pytest.raises(SandboxDataError) as caught:
        load_world(path)

    assert str(caught.value).startswith(f"{path}: ")
    assert expected in str(caught.value)


def test_invalid_json_is_refused_with_line_and_column(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"accounts": [\n  {"id": }\n]}')

    with pytest.raises(SandboxDataError, match=r"broken.json: line 2 column 10: invalid JSON"):
        Sandbox.start(path, state_dir=tmp_path)


def test_cli_function_serves_and_prints_the_base_url(agency_path, tmp_path):
    code = ("from pathlib import Path; from origincert.cli.sandbox_cmd import sandbox; "
            f"sandbox(Path({str(agency_path)!r}), '127.0.0.1', 0, Path({str(tmp_path)!r}), 0,"
            " '100/10')")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDFLARE_")}
    src = Path(__file__).resolve().parents[2] / "src"
    env["PYTHONPATH"] = os.pathsep.join([str(src), env.get("PYTHONPATH", "")])
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        first = proc.stdout.readline().strip()
        second = proc.stdout.readline().strip()
        base_url = first.rsplit(" ", 1)[-1]
        response = httpx.get(base_url + "/user/tokens/verify", headers=bearer("full"),
                             timeout=10)
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/client/v4")
    assert second.endswith(f"CLOUDFLARE_BASE_URL={base_url}")
    assert response.json()["result"]["status"] == "active"
    assert TOKENS["full"] not in first + second


def test_settings_default_budget_is_1200_per_300_seconds():
    assert SandboxSettings().rate_limit == (1200, 300.0)
