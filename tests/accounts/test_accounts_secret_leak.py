"""THE secret-leak test (issue 4, item 4): a realistic session through the CLI, then no
secret it used may appear in the state (database, WAL, logs, configuration), in any
command's output, or in the arguments of any process seen while it ran.

The session connects every credential of the sandbox (every token, both Global API
Keys; the expired and disabled tokens are refused), verifies, lists, shows, issues a
certificate into a real nginx, is stopped by the pre-flight for an account without
SSL and Certificates, reads the audit log and removes an account.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests.accounts.conftest import agency, clean_env
from tests.servers.nginx_tree import BINARY

pytestmark = pytest.mark.servers

NAMES = {
    "full access": "full",
    "minimal: DNS edit + SSL and Certificates edit": "minimal",
    "no SSL permission": "nossl",
    "example.com only": "comonly",
    "read only": "readonly",
    "expired": "expired",
    "disabled": "disabled",
    "client co": "clientco",
}


class ArgvWatcher:
    """Samples /proc/*/cmdline of every process while the session runs."""

    def __init__(self) -> None:
        self.seen: set[bytes] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ArgvWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            for path in Path("/proc").glob("[0-9]*/cmdline"):
                try:
                    self.seen.add(path.read_bytes())
                except OSError:
                    pass
            time.sleep(0.002)


def test_no_secret_in_state_logs_output_or_process_arguments(
        cli, secret_file, sb, nginx_tree, state_dir, tmp_path):
    data = agency()
    secrets = [t["value"] for t in data["tokens"]] + [u["global_api_key"]
                                                      for u in data["users"]]
    tree = nginx_tree("debian-wordpress")
    tree.start()
    server = ("--nginx-binary", BINARY, "--nginx-conf", str(tree.conf),
              "--nginx-prefix", str(tree.prefix))
    runs = []

    def run(*args: str, **kw):  # type: ignore[no-untyped-def]
        done = cli(*args, options=server, **kw)
        runs.append(done)
        return done

    with ArgvWatcher() as watcher:
        for token in data["tokens"]:
            name = NAMES[token["name"]]
            if name == "clientco":  # from the environment, pasted with a newline
                done = run("account", "add", name, "--api-base", sb.base_url,
                           env=clean_env(CLOUDFLARE_API_TOKEN=token["value"] + "\n"))
            elif name == "readonly":  # from stdin
                done = run("account", "add", name, "--token-stdin", "--api-base",
                           sb.base_url, stdin=token["value"] + "\n")
            else:
                done = run("account", "add", name, "--token-file",
                           str(secret_file(token["value"])), "--api-base", sb.base_url)
            assert done.code == (1 if name in ("expired", "disabled") else 0), done.err
        for index, user in enumerate(data["users"]):
            done = run("account", "add", f"key{index}", "--api-base", sb.base_url,
                       env=clean_env(CLOUDFLARE_EMAIL=user["email"],
                                     CLOUDFLARE_API_KEY=user["global_api_key"]))
            assert done.code == 0, done.err

        assert run("account", "verify").code == 0
        assert run("account", "verify", "--json").code == 0
        assert run("account", "list").code == 0
        for name in ("full", "key0", "nossl"):
            assert run("account", "show", name).code == 0

        # the pre-flight stops an account without SSL and Certificates: nothing generated
        refused = run("issue", "shop.example.com", "www.shop.example.com",
                      "--account", "nossl")
        assert refused.code == 1
        assert "may not issue certificates for example.com: add Zone → SSL and " \
               "Certificates → Edit, Zone Resources: include example.com" in refused.err
        assert _key_files(state_dir) == []

        issued = run("issue", "shop.example.com", "www.shop.example.com",
                     "--account", "full")
        assert issued.code == 0, issued.out + issued.err
        assert "may issue certificates for example.com" in issued.out
        assert len(_key_files(state_dir)) == 1

        log = run("log", "--json")
        assert log.code == 0
        creates = [e for e in log.json() if e["action"] == "origin_ca.create"]
        assert len(creates) == 1 and creates[0]["result"] == "ok" and creates[0]["ray_id"]
        assert creates[0]["zone"] == "example.com"
        assert run("account", "remove", "minimal").code == 0

    # the state really holds what the session did, so the search below means something
    files = [p for p in state_dir.rglob("*") if p.is_file()]
    files += [p for p in (tmp_path / "config").rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert "state.db" in names and "origincert.log" in names
    assert b"example.com" in (state_dir / "state.db").read_bytes() + b"".join(
        p.read_bytes() for p in files if p.name.startswith("state.db-"))
    assert any(b"sandbox" not in c and b"origincert" in c for c in watcher.seen)
    assert any(b"nginx" in c for c in watcher.seen)

    for secret in secrets:
        raw = secret.encode()
        for path in files:
            assert raw not in path.read_bytes(), f"a secret is in {path}"
        for done in runs:
            assert secret not in done.out and secret not in done.err, done.args
        for argv in watcher.seen:
            assert raw not in argv, "a secret is in a process's arguments"


def _key_files(state_dir: Path) -> list[Path]:
    certs = state_dir / "certs"
    return sorted(p for p in certs.rglob("*") if p.is_file() and "key" in p.name) \
        if certs.exists() else []
