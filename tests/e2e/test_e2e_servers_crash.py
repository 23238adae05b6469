"""Issue #5, "Tests": `issue` killed (SIGKILL) at every step boundary, on nginx, Apache, Caddy.

For each subject (a fixture site on its real server) and each step of the
transaction (journal, pointer, files, config_test, reload, verify), the CLI
is killed there by the test seam ``ORIGINCERT_TEST_FAULT=kill:STEP``, as a
power cut would stop it. After each kill:

- the server's own config test passes (`nginx -t`, `apachectl configtest`,
  `caddy validate`);
- every name of every site of the server is served what it was served
  before, or, for the site being issued, a valid Origin CA certificate for
  that name; plain HTTP answers every name as it did before;
- `origincert recover` undoes the run: every file byte for byte as before,
  the old certificates served again;
- after a second kill at the same step, a plain re-run of `issue` undoes
  the interrupted run itself and succeeds, verified; `uninstall` then takes
  the site back to the bytes it started from, for the next step.

Subjects: letsencrypt-managed's example.net (issued with --replace, its
certbot renewal renamed aside) and debian-wordpress's shop (plain HTTP
only) on nginx; the portal (plain HTTP, its own redirect) and the intranet
(snakeoil, --replace) on one Apache; status.example.org on Caddy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from tests.e2e.origin import agency_token, leaf_der
from tests.e2e.servers import STEPS, Origins, Served, sandbox_roots, shown, valid_for

pytestmark = pytest.mark.servers


@dataclass(frozen=True)
class Subject:
    kind: str
    tree: str | None
    names: tuple[str, ...]
    replace: bool = False

    @property
    def args(self) -> tuple[str, ...]:
        return ("issue", *self.names, "--no-zone", *(("--replace",) if self.replace else ()))

    def __str__(self) -> str:
        return f"{self.kind}-{self.names[0]}"


SUBJECTS = (
    Subject("nginx", "letsencrypt-managed", ("example.net", "www.example.net"), replace=True),
    Subject("nginx", "debian-wordpress", ("shop.example.com", "www.shop.example.com")),
    Subject("apache", None, ("portal.example.com", "www.portal.example.com")),
    Subject("apache", None, ("intranet.example.net",), replace=True),
    Subject("caddy", None, ("status.example.org",)),
)


@dataclass
class Before:
    """A subject on its running server, and everything the server showed before any run."""

    subject: Subject
    served: Served
    files: dict[str, bytes]
    tls: dict[str, bytes | str]                # every name of every site -> served on 443
    https: set[str]                            # the names of sites that serve HTTPS
    http: dict[str, tuple[int, str] | str]     # every name of every site -> answer on 80
    roots: list = field(default_factory=list)  # the sandbox's Origin CA roots


@pytest.fixture(scope="module")
def origin_of(sb, tmp_path_factory) -> Callable[[Subject], Served]:
    """The running origin of a subject; subjects of one server (Apache) share it."""
    origins = Origins(tmp_path_factory, sb.base_url, agency_token("full access"))
    current: dict[tuple[str, str | None], Served] = {}

    def origin(subject: Subject) -> Served:
        key = (subject.kind, subject.tree)
        if key not in current:
            current.clear()
            current[key] = origins.build(subject.kind, subject.tree)
        return current[key]

    yield origin
    origins.close()


@pytest.fixture(scope="module", params=SUBJECTS, ids=str)
def before(request, origin_of, sb) -> Before:
    subject: Subject = request.param
    served = origin_of(subject)
    assert served.config_error() is None

    sites = served.server.sites()
    names = [name for site in sites for name in site.hostnames]
    return Before(subject, served, served.snapshot(),
                  {name: served.tls(name) for name in names},
                  {name for site in sites if site.https for name in site.hostnames},
                  {name: served.http(name) for name in names}, sandbox_roots(sb))


@pytest.mark.parametrize("step", STEPS)
def test_issue_killed_at_step_leaves_a_working_server_that_the_next_run_recovers(
    before: Before, step: str
):
    served, subject = before.served, before.subject
    kill = {"ORIGINCERT_TEST_FAULT": f"kill:{step}"}

    # killed, then `origincert recover`
    killed = served.cli(*subject.args, env=kill)
    assert killed.code == -9, killed
    _assert_still_working(before)

    run = served.cli("recover")
    assert run.code == 0, run
    assert "recovered 1 interrupted run(s)" in run.stdout, run
    _assert_as_before(before)

    # killed again, then the same `issue` once more: it recovers first, then succeeds
    killed = served.cli(*subject.args, env=kill)
    assert killed.code == -9, killed

    run = served.cli(*subject.args)
    assert run.code == 0, run
    assert "undid 1 interrupted run(s) first" in run.stdout, run
    _assert_installed(before)

    run = served.cli("uninstall", subject.names[0])
    assert run.code == 0, run
    _assert_as_before(before)


def _assert_still_working(before: Before) -> None:
    """Config test passes; every name served as before or, if ours, validly; HTTP as before."""
    served = before.served
    assert served.config_error() is None, served.config_error()
    for name, seen_before in _tls_that_matters(before).items():
        def acceptable(seen, name=name, seen_before=seen_before) -> bool:  # type: ignore
            return seen == seen_before or (
                name in before.subject.names and valid_for(seen, name, before.roots))
        seen = served.wait_tls(name, acceptable)
        assert acceptable(seen), f"{name}: {shown(seen)}; before: {shown(seen_before)}"
    _assert_http_as_before(before)


def _assert_as_before(before: Before) -> None:
    """Every file byte for byte as before, every name served exactly as before."""
    served = before.served
    now = served.snapshot()
    changed = sorted(p for p in set(now) | set(before.files) if now.get(p) != before.files.get(p))
    assert not changed, f"changed: {changed}"
    assert served.config_error() is None
    for name, seen_before in before.tls.items():
        seen = served.wait_tls(name, lambda s, b=seen_before: s == b)
        assert seen == seen_before, f"{name}: {shown(seen)}; before: {shown(seen_before)}"
    _assert_http_as_before(before)


def _assert_installed(before: Before) -> None:
    """The subject's names serve the installed certificate; the others as before."""
    served = before.served
    expected = leaf_der(served.state / "live" / before.subject.names[0] / "cert.pem")
    for name, seen_before in _tls_that_matters(before).items():
        wanted = expected if name in before.subject.names else seen_before
        seen = served.wait_tls(name, lambda s, w=wanted: s == w)
        assert seen == wanted, f"{name}: {shown(seen)}; wanted {shown(wanted)}"
    assert valid_for(expected, before.subject.names[0], before.roots)
    _assert_http_as_before(before)


def _tls_that_matters(before: Before) -> dict[str, bytes | str]:
    """The subject's names, and every name whose own site served a certificate before.

    A name with no HTTPS of its own only meets the server's default TLS site on
    443, and that may be the subject once it serves HTTPS: what any unknown name
    meets, and nothing that name was served before by its own site.
    """
    return {name: seen for name, seen in before.tls.items()
            if name in before.subject.names or (name in before.https
                                                 and isinstance(seen, bytes))}


def _assert_http_as_before(before: Before) -> None:
    for name, answer in before.http.items():
        seen = _settled(lambda name=name: before.served.http(name), answer)
        assert seen == answer, f"http://{name}/: {seen}; before: {answer}"


def _settled(probe: Callable[[], object], wanted: object, seconds: float = 5.0) -> object:
    """``probe()`` until it gives ``wanted`` (a graceful reload may still be settling)."""
    deadline = time.monotonic() + seconds
    seen = probe()
    while seen != wanted and time.monotonic() < deadline:
        time.sleep(0.05)
        seen = probe()
    return seen
