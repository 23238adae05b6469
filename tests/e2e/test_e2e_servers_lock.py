"""Issue #5, "Tests": two runs at once on one server; one waits or gives up, nothing breaks.

One nginx (debian-wordpress: blog and shop, two sites on plain HTTP) and one
state folder. Run A holds the server lock for a while (its reload command
sleeps a second before reloading) while run B starts:

- with the default wait, B waits for A and then succeeds; both sites serve
  their own new certificate, the config passes `nginx -t`;
- with `ORIGINCERT_LOCK_WAIT` short, B gives up with one line naming A's
  pid, changes nothing, and A's install is intact;
- `uninstall` waiting for an `issue` says so on its output.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import time

import pytest

from tests.e2e.origin import agency_token, leaf_der
from tests.e2e.servers import Origins, Served, shown
from tests.servers.nginx_tree import BINARY

pytestmark = pytest.mark.servers

BLOG = ("blog.example.org",)
SHOP = ("shop.example.com", "www.shop.example.com")


@pytest.fixture(scope="module")
def served(sb, tmp_path_factory):
    origins = Origins(tmp_path_factory, sb.base_url, agency_token("full access"))
    yield origins.build("nginx", "debian-wordpress")
    origins.close()


@pytest.fixture(scope="module")
def slow_reload(served: Served) -> str:
    """A reload command that keeps its run (and so the lock) busy for a second or two."""
    path = served.home / "slow-reload"
    path.write_text(f"#!/bin/sh\nsleep 1.2\nexec {BINARY} -c {served.tree.conf} "
                    f"-p {served.tree.prefix} -s reload\n")
    path.chmod(0o755)
    return str(path)


def test_a_second_issue_waits_for_the_first_and_both_succeed(served, slow_reload):
    first = served.start_cli("--reload-command", slow_reload, "issue", *BLOG, "--no-zone")
    _wait_until_locked(served, first)
    second = served.start_cli("issue", *SHOP, "--no-zone")

    a, b = _finish(first), _finish(second)

    assert a.returncode == 0, a
    assert b.returncode == 0, b
    assert f"lock busy name=nginx holder={first.pid}" in _log(served)
    _assert_intact(served, {BLOG, SHOP})


def test_a_second_issue_with_a_short_wait_gives_up_in_one_line_and_changes_nothing(
    served, slow_reload
):
    files = served.snapshot()
    shop_before = served.tls("shop.example.com")
    first = served.start_cli("--reload-command", slow_reload,
                             "issue", *BLOG, "--no-zone", "--reissue")
    _wait_until_locked(served, first)
    second = served.start_cli("issue", *SHOP, "--no-zone", "--reissue",
                              env={"ORIGINCERT_LOCK_WAIT": "0.3"})

    a, b = _finish(first), _finish(second)

    assert a.returncode == 0, a
    assert b.returncode == 1, b
    lines = [line for line in b.stderr.splitlines() if line.strip()]
    assert lines == [
        (f"origincert: error: another origincert run (pid {first.pid}) is changing the nginx "
         "configuration; gave up after waiting 0.3s; try again when it has finished")
    ], b
    # the run that gave up touched nothing: shop is as it was, blog as the first run left it
    changed = {p for p in files if files[p] != served.snapshot().get(p)}
    assert changed == set(), sorted(changed)
    assert served.tls("shop.example.com") == shop_before
    _assert_intact(served, {BLOG, SHOP})


def test_uninstall_waiting_for_an_issue_says_whom_it_waits_for(served, slow_reload):
    first = served.start_cli("--reload-command", slow_reload,
                             "issue", *SHOP, "--no-zone", "--reissue")
    _wait_until_locked(served, first)
    second = served.start_cli("uninstall", BLOG[0])

    a, b = _finish(first), _finish(second)

    assert a.returncode == 0, a
    assert b.returncode == 0, b
    assert (f"another origincert run (pid {first.pid}) is changing the nginx configuration; "
            "waiting up to 30s for it to finish") in b.stdout, b.stdout
    assert served.config_error() is None
    _assert_intact(served, {SHOP})


def _assert_intact(served: Served, installed: set[tuple[str, ...]]) -> None:
    """nginx -t passes, and each installed site serves its own recorded certificate."""
    assert served.config_error() is None
    rows = {tuple(r["hostnames"]): r for r in served.certs() if r["status"] == "installed"}
    assert set(rows) == installed, rows
    for names, row in rows.items():
        expected = leaf_der(row["certificate_file"])
        for name in names:
            seen = served.wait_tls(name, lambda s, e=expected: s == e)
            assert seen == expected, f"{name}: {shown(seen)}"


def _wait_until_locked(served: Served, holder: subprocess.Popen, seconds: float = 20) -> None:
    """Until ``holder`` holds the nginx lock (its pid in the lock file, the flock taken)."""
    path = served.state / "lock" / "nginx.lock"
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert holder.poll() is None, _finish(holder)
        if path.exists() and path.read_text().strip() == str(holder.pid) and _locked(path):
            return
        time.sleep(0.02)
    raise AssertionError("the first run never took the lock")


def _locked(path) -> bool:  # type: ignore[no-untyped-def]
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _finish(process: subprocess.Popen) -> subprocess.CompletedProcess:
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _log(served: Served) -> str:
    return (served.state / "log" / "origincert.log").read_text()


def test_the_wait_comes_from_the_environment_and_a_bad_value_is_one_line(tmp_path, monkeypatch):
    from origincert.errors import ConfigError
    from origincert.provision.lock import lock_wait, server_lock

    monkeypatch.setenv("ORIGINCERT_LOCK_WAIT", "2.5")
    assert lock_wait() == 2.5
    monkeypatch.delenv("ORIGINCERT_LOCK_WAIT")
    assert lock_wait() == 30.0

    monkeypatch.setenv("ORIGINCERT_LOCK_WAIT", "soon")
    with pytest.raises(ConfigError) as bad, server_lock(tmp_path, "nginx"):
        pass
    assert bad.value.one_line() == (
        "ORIGINCERT_LOCK_WAIT='soon' is not a number of seconds; set it to 0 or more, "
        "or unset it for the default of 30")
