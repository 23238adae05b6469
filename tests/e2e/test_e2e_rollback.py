"""Issue #3, "Tests" and "Bad input": injected failures leave the server as it was.

Two sites: letsencrypt-managed's example.net, which already serves a Let's
Encrypt certificate (issued with --replace), and debian-wordpress's shop,
on plain HTTP only (there "as before" means nothing answers TLS on 443).
Each failure is injected through a parameter: an nginx that refuses the new
configuration, a reload command that fails, the API failing, a step failing
after the certificate was issued. After each one: exit 1, one line on stderr
naming the cause, every config file byte-identical, the same certificate (or
none) served for every name, and the state remembering what was issued.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from origincert.errors import CloudflareAPIError
from origincert.provision.issue import IssueOptions
from tests.e2e.origin import (
    ANY_V4, Origin, agency_token, leaf_der, observe, sample, wait_served,
)
from tests.servers.nginx_tree import BINARY

pytestmark = pytest.mark.servers


@dataclass(frozen=True)
class Case:
    tree: str
    names: tuple[str, ...]
    options: tuple[str, ...]
    hosts: tuple[str, ...]

    @property
    def replace(self) -> bool:
        return "--replace" in self.options


CASES = (
    Case("letsencrypt-managed", ("example.net", "www.example.net"), ("--replace",),
         (ANY_V4, "::1")),
    Case("debian-wordpress", ("shop.example.com", "www.shop.example.com"), (),
         (ANY_V4, "::1")),
)

EMERG = 'nginx: [emerg] unknown directive "ssl_stapling_origincert" in {conf}:3'


@dataclass
class Subject:
    origin: Origin
    case: Case

    def issue(self, *extra: str, **kwargs) -> object:
        return self.origin.cli("issue", *self.case.names, *self.case.options, *extra, **kwargs)

    def served(self) -> dict[tuple[str, str], bytes | str]:
        return {(host, name): observe(host, 443, sample(name))
                for host in self.case.hosts for name in self.case.names}


@pytest.fixture(scope="module", params=CASES, ids=[c.tree for c in CASES])
def subject(request, sb, make_origin) -> Subject:
    case: Case = request.param
    origin = make_origin(case.tree)
    origin.connect("agency", agency_token("full access"), sb.base_url)
    return Subject(origin, case)


@pytest.fixture
def unchanged(subject: Subject, sb):
    """Asserts, after the test, that files, served certificates and installs are as before."""
    files, served = subject.origin.snapshot(), subject.served()
    installed = subject.origin.certs()
    yield
    sb.clear_failures()
    assert subject.origin.snapshot() == files, "a config file changed"
    for (host, name), seen in served.items():
        wait_served(host, 443, sample(name), seen)
    assert subject.origin.certs() == installed


# Only the site that already serves a certificate has one to switch.
@pytest.mark.parametrize("subject", [CASES[0]], ids=[CASES[0].tree], indirect=True)
def test_a_site_serving_another_certificate_is_switched_only_with_replace(subject, unchanged):
    assert subject.case.replace
    run = subject.origin.cli("issue", *subject.case.names)

    assert run.code == 1, run
    line = _one_line(run)
    assert "--replace" in line and "letsencrypt" in line, line


def test_nginx_refusing_the_new_config_is_rolled_back_with_nginx_words(subject, unchanged):
    origin = subject.origin
    refusing = origin.script("nginx-refusing", _refusing_nginx(origin))

    run = subject.issue(binary=refusing)

    assert run.code == 1, run
    line = _one_line(run)
    assert "nginx refused the configuration" in line
    assert "[emerg] unknown directive \"ssl_stapling_origincert\"" in line
    assert _last_row(origin)["status"] == "unused"


def test_reload_failing_is_rolled_back_and_the_old_certificate_served(subject, unchanged):
    failing = subject.origin.script(
        "reload-failing",
        "echo 'nginx: [error] invalid PID number \"\" in \"/run/nginx.pid\"' >&2\nexit 1\n")

    run = subject.issue(reload_command=failing)

    assert run.code == 1, run
    line = _one_line(run)
    assert "did not reload" in line and "invalid PID number" in line, line
    # the rollback's own reload failed the same way: the run is left for recovery
    assert line.endswith("run: origincert recover"), line
    assert _last_row(subject.origin)["status"] == "unused"


def test_api_failing_half_way_changes_nothing_and_keeps_code_message_and_ray_id(
    subject, unchanged, sb
):
    # In-process, to fail exactly the issuing request: once the key exists, every
    # POST /certificates answers 500 (pre-flight probes before it are left alone).
    def progress(line: str) -> None:
        if line.startswith("generated an"):
            sb.inject_failure("POST", "^/certificates$", status=500, times=5)

    issuer = subject.origin.issuer(progress)
    with pytest.raises(CloudflareAPIError) as failed:
        issuer.issue(list(subject.case.names), IssueOptions(replace=subject.case.replace))

    line = failed.value.one_line()
    assert failed.value.exit_status == 1
    assert "10001" in line and "Internal server error" in line and "Ray ID" in line, line
    assert failed.value.ray_id and failed.value.ray_id in line
    last = _last_row(subject.origin)
    assert last["status"] == "unused" and last["cloudflare_id"] is None


@pytest.mark.parametrize("step", ["reload", "verify"])
def test_failure_after_issuance_keeps_the_new_certificate_recorded_as_unused(
    subject, unchanged, sb, step
):
    run = subject.issue(env={"ORIGINCERT_TEST_FAULT": f"fail:{step}"})

    assert run.code == 1, run
    assert f"injected failure at step {step}" in _one_line(run)
    last = _last_row(subject.origin)
    assert last["status"] == "unused"
    assert last["cloudflare_id"] in sb.world.certificates
    assert sorted(last["hostnames"]) == sorted(subject.case.names)


def test_a_run_killed_after_reload_is_undone_by_recover(subject, unchanged):
    killed = subject.issue(env={"ORIGINCERT_TEST_FAULT": "kill:reload"})
    assert killed.code == -9, killed

    run = subject.origin.cli("recover")

    assert run.code == 0, run
    assert "recovered 1 interrupted run" in run.stdout, run
    assert _last_row(subject.origin)["status"] == "unused"


def test_the_next_issue_undoes_a_killed_run_first_and_leaves_nothing_to_recover(subject):
    killed = subject.issue(env={"ORIGINCERT_TEST_FAULT": "kill:files"})
    assert killed.code == -9, killed

    run = subject.issue()

    assert run.code == 0, run
    _assert_installed_and_served(subject)
    # after all the failures above, no stale record may undo this install later
    assert "nothing to recover" in subject.origin.cli("recover").stdout
    _assert_installed_and_served(subject)


def _assert_installed_and_served(subject: Subject) -> None:
    rows = subject.origin.certs()
    assert [sorted(r["hostnames"]) for r in rows] == [sorted(subject.case.names)]
    expected = leaf_der(rows[0]["certificate_file"])
    for host in subject.case.hosts:
        for name in subject.case.names:
            wait_served(host, 443, sample(name), expected)


def _one_line(run) -> str:
    lines = run.error_lines()
    assert len(lines) == 1, run
    assert lines[0].startswith("origincert: error: "), run
    return lines[0]


def _last_row(origin: Origin) -> dict:
    return origin.certs(all_=True)[-1]


def _refusing_nginx(origin: Origin) -> str:
    """A real nginx that refuses any configuration carrying origincert's include."""
    etc = origin.tree.prefix
    emerg = EMERG.format(conf=origin.tree.conf)
    return (
        'for arg in "$@"; do\n'
        f'  if [ "$arg" = "-t" ] && grep -rqs "origincert" {etc}; then\n'
        f"    echo '{emerg}' >&2\n"
        f"    echo 'nginx: configuration file {origin.tree.conf} test failed' >&2\n"
        "    exit 1\n"
        "  fi\n"
        "done\n"
        f'exec {BINARY} "$@"\n'
    )
