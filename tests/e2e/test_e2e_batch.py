"""Issue 10: a batch of 50 sites is issued concurrently, installed with ONE config test
and ONE reload, and every one of the 50 is served (functional; timings belong to bench/)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bench.generate import generate
from origincert import runner
from origincert.files import write_atomic
from origincert.sandbox import Sandbox
from tests.e2e.origin import clean_env, leaf_der, observe

pytestmark = pytest.mark.servers

SITES, ZONES = 50, 5


@pytest.fixture
def bench(tmp_path):
    made = generate(tmp_path / "tree", SITES, ZONES)
    started = runner.run(["nginx", "-c", str(made.conf), "-p", str(made.root)])
    assert started.ok, started.output
    yield made
    runner.run(["nginx", "-c", str(made.conf), "-p", str(made.root), "-s", "quit"])


def _cli(tmp_path, made, *args):  # type: ignore[no-untyped-def]
    argv = [sys.executable, "-m", "origincert", "--state-dir", str(tmp_path / "state"),
            "--nginx-conf", str(made.conf), "--nginx-prefix", str(made.root), *args]
    return subprocess.run(argv, env=clean_env(), capture_output=True, text=True, timeout=300)


def _connect(tmp_path, made, sb) -> None:  # type: ignore[no-untyped-def]
    """The bench token, connected as account "bench" against the sandbox."""
    token = tmp_path / "token"
    write_atomic(token, made.token, mode=0o600)
    added = _cli(tmp_path, made, "account", "add", "bench", "--token-file", str(token),
                 "--api-base", sb.base_url)
    assert added.returncode == 0, added.stderr


def test_a_batch_of_50_sites_makes_one_reload_and_all_are_served(tmp_path, bench):
    with Sandbox.start(bench.world, state_dir=tmp_path / "sandbox") as sb:
        _connect(tmp_path, bench, sb)
        sb.request_log.clear()

        run = _cli(tmp_path, bench, "issue", "--all", "--no-zone", "--json")

        assert run.returncode == 0, run.stderr
        result = json.loads(run.stdout)
        assert result["config_tests"] == 1 and result["reloads"] == 1
        assert [o["status"] for o in result["sites"]] == ["installed"] * SITES
        creates = [r for r in sb.request_log if r.method == "POST"
                   and r.path.endswith("/certificates")]
        assert len(creates) == SITES + ZONES  # one per site, one permission probe per zone
        certs = json.loads(_cli(tmp_path, bench, "certs", "--json").stdout)

    by_name = {c["hostnames"][0]: c for c in certs}
    assert sorted(by_name) == sorted(bench.hostnames)
    for name in bench.hostnames:
        assert observe("127.0.0.1", 443, name) == leaf_der(by_name[name]["certificate_file"])


def test_a_zone_the_token_may_not_issue_in_is_left_out_and_the_rest_goes_ahead(
        tmp_path, bench):
    world = json.loads(bench.world.read_text())
    barred = world["zones"][0]["name"]
    others = [z["name"] for z in world["zones"][1:]]
    world["tokens"][0]["policies"] = [
        {"permissions": ["zone:read", "zone_settings:edit", "dns_records:edit"],
         "zones": [f"account:{world['accounts'][0]['id']}"]},
        {"permissions": ["ssl:edit"], "zones": others},
    ]
    limited = tmp_path / "world.json"
    limited.write_text(json.dumps(world))

    with Sandbox.start(limited, state_dir=tmp_path / "sandbox") as sb:
        _connect(tmp_path, bench, sb)
        sb.request_log.clear()

        run = _cli(tmp_path, bench, "issue", "--all", "--no-zone", "--json")
        creates = [r for r in sb.request_log if r.method == "POST"
                   and r.path.endswith("/certificates")]
        certs = json.loads(_cli(tmp_path, bench, "certs", "--json").stdout)

    result = json.loads(run.stdout)
    assert run.returncode != 0  # some sites failed, and the exit code says so
    assert result["config_tests"] == 1 and result["reloads"] == 1
    failed = {o["site"]: o["error"] for o in result["sites"] if o["status"] == "failed"}
    barred_sites = [h for h in bench.hostnames if h.endswith("." + barred)]
    assert sorted(failed) == sorted(barred_sites)
    assert all(f"may not issue certificates for {barred}" in e for e in failed.values())
    assert len(creates) == SITES - len(barred_sites) + ZONES  # no issuance tried there
    by_name = {c["hostnames"][0]: c for c in certs if c["status"] == "installed"}
    assert sorted(by_name) == sorted(set(bench.hostnames) - set(barred_sites))
    for name, cert in by_name.items():
        assert observe("127.0.0.1", 443, name) == leaf_der(cert["certificate_file"])


def test_probes_refused_with_429_fail_their_zones_without_asking_again(tmp_path, bench):
    with Sandbox.start(bench.world, state_dir=tmp_path / "sandbox") as sb:
        _connect(tmp_path, bench, sb)
        # Another tool spent the credential's budget: three calls left per two seconds
        # (two list the zones), which this run does not know: its budget is 1200/300.
        sb.settings.rate_limit = (3, 2.0)
        sb.reset_rate_limit()
        sb.request_log.clear()

        run = _cli(tmp_path, bench, "issue", "--all", "--no-zone", "--json")
        creates = [r.status for r in sb.request_log if r.method == "POST"
                   and r.path.endswith("/certificates")]

    result = json.loads(run.stdout)
    assert run.returncode != 0
    # The probes come first, one per zone: one answered (a CSR no CA signs: 400), the
    # rest refused; the zones refused are not asked again once the window has passed.
    assert sorted(creates[:ZONES]) == [400] + [429] * (ZONES - 1)
    assert 400 not in creates[ZONES:]
    failed = [o for o in result["sites"] if o["status"] == "failed"]
    installed = [o for o in result["sites"] if o["status"] == "installed"]
    assert len(installed) == SITES // ZONES  # the zone that got an answer went ahead
    assert all("requests per" in o["error"] for o in failed), failed[0]["error"]
    zones_failed = {o["site"].split(".", 1)[1] for o in failed}
    assert not zones_failed & {o["site"].split(".", 1)[1] for o in installed}
    assert result["config_tests"] == 1 and result["reloads"] == 1


def test_two_accounts_tokens_share_one_budget(tmp_path, bench):
    """Two accounts, two tokens: each would fit the budget alone, together they do not.

    Cloudflare counts a user's tokens together (fact sheet §4) and origincert cannot
    tell whose a token is, so the batch waits for the window rather than risk a 429.
    """
    world = json.loads(bench.world.read_text())
    world["users"] = [{"email": "owner@bench.example", "global_api_key": "b" * 37,
                       "accounts": [world["accounts"][0]["id"]]}]
    token_a = world["tokens"][0]
    token_b = {**token_a, "name": "second", "value": "sandbox-bench-token-second-acct-0000000001"}
    zones = [z["name"] for z in world["zones"]]
    for token, reach in ((token_a, zones[:2]), (token_b, zones[2:])):
        token["policies"] = [{"permissions": ["zone:read", "ssl:edit"], "zones": reach}]
        token["owner"] = "owner@bench.example"  # the sandbox counts them together
    world["tokens"].append(token_b)
    split = tmp_path / "world.json"
    split.write_text(json.dumps(world))

    with Sandbox.start(split, state_dir=tmp_path / "sandbox") as sb:
        for name, token in (("first", token_a), ("second", token_b)):
            path = tmp_path / f"token-{name}"
            write_atomic(path, token["value"], mode=0o600)
            added = _cli(tmp_path, bench, "account", "add", name, "--token-file", str(path),
                         "--api-base", sb.base_url)
            assert added.returncode == 0, added.stderr
        sb.request_log.clear()
        # 20 sites in the first token's zones, 30 in the second's: with its zone pages
        # and probes, each token makes fewer than 40 calls, the two more than 40.
        sb.settings.rate_limit = (40, 4.0)
        sb.reset_rate_limit()
        run = _cli(tmp_path, bench, "issue", "--all", "--no-zone", "--json",
                   "--rate-limit", "40/4")
        answers = [r.status for r in sb.request_log]

    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert [o["status"] for o in result["sites"]] == ["installed"] * SITES
    assert 429 not in answers  # never over the user's limit, so never blocked
    assert len(answers) > 40 and result["api_calls"] == len(answers)
    assert result["waited_s"] > 0


def test_an_unknown_site_is_one_clear_line_and_nothing_is_issued(tmp_path, bench):
    with Sandbox.start(bench.world, state_dir=tmp_path / "sandbox") as sb:
        _connect(tmp_path, bench, sb)
        sb.request_log.clear()

        run = _cli(tmp_path, bench, "issue", "--site", bench.hostnames[0],
                   "--site", "nosuch.example")

        assert run.returncode == 2, run.stderr
        assert "no site is called nosuch.example" in run.stderr
        assert "Traceback" not in run.stderr
        # The zones may be listed while the sites are read; nothing else is asked.
        assert all(r.method == "GET" for r in sb.request_log), sb.request_log
        assert json.loads(_cli(tmp_path, bench, "certs", "--json").stdout) == []


def test_a_batch_with_no_account_connected_says_how_to_connect_one(tmp_path, bench):
    run = _cli(tmp_path, bench, "issue", "--all", "--no-zone")

    assert run.returncode == 2, run.stderr
    assert "no Cloudflare account is connected" in run.stderr
    assert "origincert account add" in run.stderr
    assert "Traceback" not in run.stderr
