"""A fixture nginx tree, copied into a temporary root and run by a real nginx.

The trees in ``../shared/fixtures/nginx`` use the paths of a real server
(``/etc/nginx``, ``/etc/ssl``, ``/var/log/nginx``, ...). ``NginxTree.build``
lays Debian's stock ``/etc/nginx`` and then the tree into ``<tmp>/root``,
rewrites those absolute paths to the copy, creates the placeholder
certificates the tree names, and hands back an ``Nginx`` adapter pointed at
the copy. Ports stay as they are (80, 443, 203.0.113.10): run the tests in the
private network namespace of ``scripts/test-netns``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from origincert.errors import WebServerError
from origincert.files import ensure_dir, remove, write_atomic
from origincert.runner import run
from origincert.webserver.base import InstallPlan
from origincert.webserver.nginx import Nginx
from origincert.webserver.nginx.config import read_blocks

from tests.servers.pki import make_self_signed

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(os.environ.get("ORIGINCERT_FIXTURES", REPO.parent / "shared" / "fixtures"))
NGINX_FIXTURES = FIXTURES / "nginx"
DATA = Path(__file__).parent / "data"
BINARY = os.environ.get("ORIGINCERT_NGINX", "/usr/sbin/nginx")
STOCK = Path("/etc/nginx")

TREES = ("debian-wordpress", "letsencrypt-managed", "reverse-proxy", "tricky")

# An absolute path of a real server, where a config file names one.
_ABSOLUTE = re.compile(rb"(?<=[\s\"'])/(?:etc|var|run|srv)(?=[/\s;\"'])")
_USER = re.compile(rb"^(\s*)(user\s+[^;]*;)", re.MULTILINE)
_PID = re.compile(rb"^\s*pid\s+([^;]+);", re.MULTILINE)

# What certbot writes next to its certificates (a plausible recent version).
CERTBOT_OPTIONS = """\
# This file contains important security parameters. If you modify this file
# manually, Certbot will be unable to automatically provide future security
# updates. Instead, Certbot will print and log an error message with a path to
# the up-to-date file that you will need to refer to when manually updating
# this file. Contents are based on https://ssl-config.mozilla.org

ssl_session_cache shared:le_nginx_SSL:10m;
ssl_session_timeout 1440m;
ssl_session_tickets off;

ssl_protocols TLSv1.2 TLSv1.3;
ssl_prefer_server_ciphers off;

ssl_ciphers "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:\
ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:\
ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384";
"""


@dataclass
class NginxTree:
    """One fixture tree in a temporary root, and the nginx that runs it."""

    name: str
    root: Path
    conf: Path
    prefix: Path
    nginx: Nginx
    pid_file: Path
    placeholders: dict[Path, bytes] = field(default_factory=dict)  # cert path -> DER
    _originals: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def build(cls, name: str, tmp: Path, source: Path | None = None) -> NginxTree:
        """Lay out fixture tree ``name`` (or the tree at ``source``) under ``tmp``."""
        root = Path(tmp) / "root"
        etc = root / "etc" / "nginx"
        _copy_stock(etc)
        originals = _overlay(source or NGINX_FIXTURES / name, etc, root)
        _support_files(root)

        conf = etc / "nginx.conf"
        pid_file = _own_main_conf(conf, root)
        nginx = Nginx(binary=BINARY, conf=conf, prefix=etc,
                      include_dir=root / "etc" / "origincert" / "nginx")
        tree = cls(name, root, conf, etc, nginx, pid_file, _originals=originals)
        tree._make_placeholders()
        tree._make_folders()
        # the copy as laid out, after the harness's own rewrites
        tree._originals = {rel: tree._read(rel) for rel in originals}
        return tree

    @classmethod
    def from_files(cls, files: dict[str, str], tmp: Path) -> NginxTree:
        """A tree made in the test: ``files`` maps paths inside /etc/nginx to text."""
        source = Path(tmp) / "source"
        for rel, text in files.items():
            ensure_dir((source / rel).parent)
            (source / rel).write_text(text)
        return cls.build("custom", tmp, source)

    # the files

    def path(self, rel: str) -> Path:
        """A file of the tree, by its path inside ``/etc/nginx``."""
        return self.prefix / rel

    def fixture_files(self) -> dict[str, bytes]:
        """Every fixture file (relative path) as laid out, before any edit."""
        return dict(self._originals)

    def current_files(self) -> dict[str, bytes]:
        return {rel: self._read(rel) for rel in self._originals}

    # the server

    def start(self) -> None:
        done = run([BINARY, "-c", str(self.conf), "-p", str(self.prefix)], timeout=30)
        if not done.ok:
            raise RuntimeError(f"nginx did not start:\n{done.output}")
        # nginx binds its sockets before it daemonizes, so the pid file is enough
        _wait(lambda: self._master() is not None, 10, "nginx never wrote its pid file")

    def stop(self) -> None:
        master = self._master()
        if master is None:
            return
        run([BINARY, "-c", str(self.conf), "-p", str(self.prefix), "-s", "quit"], timeout=30)
        try:
            _wait(lambda: not _alive(master), 10, "nginx did not quit")
        except RuntimeError:
            os.kill(master, signal.SIGKILL)

    def reload(self) -> None:
        self.nginx.config_test()
        self.nginx.reload()

    # helpers

    def _read(self, rel: str) -> bytes:
        path = self.path(rel)
        return os.readlink(path).encode() if path.is_symlink() else path.read_bytes()

    def _master(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if _alive(pid) else None

    def _make_placeholders(self) -> None:
        """A self-signed pair at every certificate path the tree names but lacks."""
        try:
            blocks = read_blocks(self.conf, self.nginx.include_dir)
        except WebServerError:
            return  # a tree made broken on purpose has nothing to serve
        for block in blocks:
            if block.certificate is None or block.key is None:
                continue
            if block.certificate.exists() and block.key.exists():
                continue
            der = make_self_signed(list(block.hostnames), block.certificate, block.key)
            self.placeholders[block.certificate] = der

    def _make_folders(self) -> None:
        text = b"".join(self.path(rel).read_bytes() for rel in self._originals
                        if self.path(rel).is_file())
        for match in re.finditer(rb"^\s*root\s+([^;\s]+);", text, re.MULTILINE):
            ensure_dir(Path(match.group(1).decode()))
        ensure_dir(self.nginx.include_dir)


def apply_plan(plan: InstallPlan) -> None:
    """What the transaction does with a plan, minus the journal."""
    for change in plan.changes:
        if change.after is None:
            remove(change.path)
            continue
        ensure_dir(change.path.parent)
        write_atomic(change.path, change.after, mode=change.mode)


def _copy_stock(etc: Path) -> None:
    shutil.copytree(STOCK, etc, symlinks=True)
    for folder in ("sites-enabled", "conf.d"):
        for entry in (etc / folder).iterdir():
            entry.unlink() if entry.is_symlink() or entry.is_file() else shutil.rmtree(entry)


def _overlay(tree: Path, etc: Path, root: Path) -> dict[str, bytes]:
    """Lay the fixture over the copy; returns the relative paths it laid."""
    laid: dict[str, bytes] = {}
    for source in sorted(tree.rglob("*")):
        if source.is_dir():
            continue
        rel = source.relative_to(tree).as_posix()
        dest = etc / rel
        ensure_dir(dest.parent)
        if dest.is_symlink() or dest.exists():
            dest.unlink()
        target = _link_target(source)
        if target is not None:
            os.symlink(target, dest)
        else:
            dest.write_bytes(_ABSOLUTE.sub(str(root).encode() + rb"\g<0>", source.read_bytes()))
        laid[rel] = b""
    return laid


def _link_target(source: Path) -> str | None:
    """A `sites-enabled` entry stored as the text of its link, as a relative link."""
    if source.is_symlink():
        return os.readlink(source)
    if source.parent.name != "sites-enabled" or source.stat().st_size > 200:
        return None
    target = source.read_text().strip()
    return target if (source.parent / target).is_file() else None


def _support_files(root: Path) -> None:
    letsencrypt = ensure_dir(root / "etc" / "letsencrypt")
    write_atomic(letsencrypt / "options-ssl-nginx.conf", CERTBOT_OPTIONS)
    write_atomic(letsencrypt / "ssl-dhparams.pem", (DATA / "dhparam.pem").read_bytes())
    for folder in ("run", "var/run", "var/log/nginx", "var/www/html"):
        ensure_dir(root / folder)


def _own_main_conf(conf: Path, root: Path) -> Path:
    """Drop the `user` line, and keep the pid file and error log inside the root."""
    data = _USER.sub(rb"\1# \2  # dropped by the test harness", conf.read_bytes())
    found = _PID.search(data)
    if found is None:
        pid = root / "run" / "nginx.pid"
        data += f"pid {pid};  # added by the test harness\n".encode()
    else:
        pid = Path(found.group(1).decode().strip())
    data += f"error_log {root}/var/log/nginx/error.log;  # added by the test harness\n".encode()
    conf.write_bytes(data)
    return pid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child is not a server
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))


def _wait(ready, seconds: float, message: str) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(message)
        time.sleep(0.05)
