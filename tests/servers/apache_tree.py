"""The Apache fixture tree, copied into a temporary root and run by a real Apache.

``../shared/fixtures/apache/debian`` holds the site files of a Debian Apache
(``sites-available`` and ``sites-enabled``, the latter stored as small text
files naming their link target). ``ApacheTree.build`` copies Debian's stock
``/etc/apache2`` into ``<root>/etc/apache2``, lays the fixture over it (the
``sites-enabled`` entries become relative links, as ``a2ensite`` makes them),
enables the modules a real server with these sites has (``rewrite`` for the
portal's redirect, ``ssl`` for the intranet's snakeoil vhost), rewrites the
absolute paths (``/etc``, ``/var``, ``/run``, ``/srv``) into the root, puts
the pid file, logs and run folders there through the copy's ``envvars``, and
creates a throwaway snakeoil pair.

The copy runs exactly as Debian runs a second instance: ``APACHE_CONFDIR=<copy>
apache2ctl ...``, which sources ``<copy>/envvars`` and passes ``-d <copy>``.
The ``Apache`` adapter is pointed at the copy the same way, so the tests
drive the product's own commands.

Apache's children drop to ``www-data`` and must read the document roots, so
the root is a folder of its own under the system's temporary folder with
mode 0755 (pytest's ``tmp_path`` is 0700); ``cleanup`` removes it. Ports stay
80 and 443: run the tests in the private network namespace of
``scripts/test-netns``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import ssl
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from origincert.files import ensure_dir, write_atomic
from origincert.runner import run
from origincert.webserver.apache import Apache
from origincert.webserver.base import Endpoint

from tests.servers.pki import make_self_signed

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(os.environ.get("ORIGINCERT_FIXTURES", REPO.parent / "shared" / "fixtures"))
APACHE_FIXTURES = FIXTURES / "apache"
CTL = os.environ.get("ORIGINCERT_APACHECTL", "/usr/sbin/apache2ctl")
STOCK = Path("/etc/apache2")

TREES = ("debian",)
# What a real server with the fixture's sites has enabled beyond Debian's stock set.
MODULES = ("rewrite", "socache_shmcb", "ssl")

# An absolute path of a real server, where a config file or envvars names one
# (the system's MIME table stays where it is: the copy has none).
_ABSOLUTE = re.compile(rb"(?<=[\s\"'=])/(?:etc(?!/mime\.types)|var|run|srv)(?=[/\s\"'>])")
_DOCROOT = re.compile(rb"^\s*DocumentRoot\s+\"?([^\s\"]+)", re.MULTILINE | re.IGNORECASE)
_CERT = re.compile(rb"^\s*SSLCertificateFile\s+\"?([^\s\"]+)", re.MULTILINE | re.IGNORECASE)
_KEY = re.compile(rb"^\s*SSLCertificateKeyFile\s+\"?([^\s\"]+)", re.MULTILINE | re.IGNORECASE)
_NAME = re.compile(rb"^\s*ServerName\s+([^\s:]+)", re.MULTILINE | re.IGNORECASE)


@dataclass
class ApacheTree:
    """One fixture tree in a temporary root, and the Apache that runs it."""

    name: str
    root: Path
    conf_dir: Path
    apache: Apache
    placeholders: dict[Path, bytes] = field(default_factory=dict)  # cert path -> DER
    _originals: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def build(cls, name: str = "debian", *, modules: tuple[str, ...] = MODULES,
              source: Path | None = None) -> ApacheTree:
        """Lay out fixture tree ``name`` (or the tree at ``source``) with ``modules`` on."""
        root = Path(tempfile.mkdtemp(prefix="origincert-apache-"))
        os.chmod(root, 0o755)
        conf_dir = root / "etc" / "apache2"
        _copy_stock(conf_dir)
        laid = _overlay(source or APACHE_FIXTURES / name, conf_dir)
        for module in modules:
            _enable_module(conf_dir, module)
        _rewrite_paths(conf_dir, root)

        apache = Apache(ctl=CTL, conf_dir=conf_dir,
                        include_dir=root / "etc" / "origincert" / "apache")
        tree = cls(name, root, conf_dir, apache)
        tree._make_folders()
        tree._make_placeholders(laid)
        # the copy as laid out, after the harness's own rewrites
        tree._originals = {rel: tree._read(rel) for rel in laid}
        return tree

    @classmethod
    def from_files(cls, files: dict[str, str], **options) -> ApacheTree:
        """A tree made in the test: ``files`` maps paths inside /etc/apache2 to text."""
        source = Path(tempfile.mkdtemp(prefix="origincert-apache-source-"))
        try:
            for rel, text in files.items():
                ensure_dir((source / rel).parent)
                (source / rel).write_text(text)
            return cls.build("custom", source=source, **options)
        finally:
            shutil.rmtree(source, ignore_errors=True)

    # the files

    def path(self, rel: str) -> Path:
        """A file of the tree, by its path inside ``/etc/apache2``."""
        return self.conf_dir / rel

    def fixture_files(self) -> dict[str, bytes]:
        """Every fixture file (relative path) as laid out, before any edit."""
        return dict(self._originals)

    def current_files(self) -> dict[str, bytes]:
        return {rel: self._read(rel) for rel in self._originals}

    def listing(self, folder: str) -> dict[str, bytes]:
        """Every entry of a folder of the tree: a link as its target, a file as its bytes."""
        return {entry.name: self._read(f"{folder}/{entry.name}")
                for entry in sorted(self.path(folder).iterdir())}

    # the server

    def start(self) -> None:
        # apache2ctl hands `start` to systemd when PID 1 is systemd; this variable
        # tells it that it is being run by the service manager already.
        done = run([CTL, "start"], env=self.apache.environment(APACHE_STARTED_BY_SYSTEMD="1"),
                   timeout=30)
        if not done.ok:
            raise RuntimeError(f"apache did not start:\n{done.output}")
        _wait(lambda: self._master() is not None and _listening(80), 10,
              "apache never came up on port 80")

    def stop(self) -> None:
        master = self._master()
        if master is not None:
            run([CTL, "stop"], env=self.apache.environment(), timeout=30)
            try:
                _wait(lambda: not _alive(master), 10, "apache did not stop")
            except RuntimeError:
                os.kill(master, signal.SIGKILL)

    def reload(self) -> None:
        self.apache.config_test()
        self.apache.reload()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def error_log(self) -> str:
        log = self.root / "var" / "log" / "apache2" / "error.log"
        return log.read_text(errors="replace") if log.exists() else ""

    # helpers

    def _read(self, rel: str) -> bytes:
        path = self.path(rel)
        return os.readlink(path).encode() if path.is_symlink() else path.read_bytes()

    def _master(self) -> int | None:
        pid_file = self.root / "var" / "run" / "apache2" / "apache2.pid"
        try:
            pid = int(pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if _alive(pid) else None

    def _make_folders(self) -> None:
        for folder in ("var/run/apache2", "var/lock", "var/log/apache2", "var/www/html"):
            ensure_dir(self.root / folder)
        ensure_dir(self.apache.include_dir)
        for path in self.conf_dir.glob("sites-available/*.conf"):
            for match in _DOCROOT.finditer(path.read_bytes()):
                docroot = ensure_dir(Path(match.group(1).decode()))
                write_atomic(docroot / "index.html", f"<p>{path.stem}</p>\n")

    def _make_placeholders(self, laid: dict[str, bytes]) -> None:
        """A self-signed pair at every certificate path a fixture site names but lacks."""
        for rel in laid:
            data = self.path(rel).read_bytes()
            names = [m.group(1).decode() for m in _NAME.finditer(data)]
            pairs = zip(_CERT.finditer(data), _KEY.finditer(data), strict=False)
            for cert_match, key_match in pairs:
                cert = Path(cert_match.group(1).decode())
                key = Path(key_match.group(1).decode())
                if cert in self.placeholders or (cert.exists() and key.exists()):
                    continue
                self.placeholders[cert] = make_self_signed(names[:1], cert, key)


def http_get(endpoint: Endpoint, hostname: str, *, tls: bool,
             path: str = "/") -> tuple[int, str | None]:
    """One GET to the local server with ``hostname`` as Host (and SNI): status, Location."""
    with socket.create_connection((endpoint.host, endpoint.port), timeout=5) as raw:
        conn: socket.socket = raw
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            conn = context.wrap_socket(raw, server_hostname=hostname)
        request = f"GET {path} HTTP/1.1\r\nHost: {hostname}\r\nConnection: close\r\n\r\n"
        conn.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(4096)
            if not chunk:
                break
            head += chunk
    lines = head.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return status, headers.get("Location")


def _copy_stock(conf_dir: Path) -> None:
    shutil.copytree(STOCK, conf_dir, symlinks=True)
    for entry in (conf_dir / "sites-enabled").iterdir():
        entry.unlink()


def _overlay(tree: Path, conf_dir: Path) -> dict[str, bytes]:
    """Lay the fixture over the copy; returns the relative paths it laid."""
    laid: dict[str, bytes] = {}
    for source in sorted(tree.rglob("*")):
        if source.is_dir():
            continue
        rel = source.relative_to(tree).as_posix()
        dest = conf_dir / rel
        ensure_dir(dest.parent)
        if dest.is_symlink() or dest.exists():
            dest.unlink()
        target = _link_target(source)
        if target is not None:
            os.symlink(target, dest)
        else:
            shutil.copyfile(source, dest)
        laid[rel] = b""
    return laid


def _link_target(source: Path) -> str | None:
    """An ``*-enabled`` entry stored as the text of its link, as a relative link."""
    if source.is_symlink():
        return os.readlink(source)
    if not source.parent.name.endswith("-enabled") or source.stat().st_size > 200:
        return None
    target = source.read_text().strip()
    return target if (source.parent / target).is_file() else None


def _enable_module(conf_dir: Path, module: str) -> None:
    """What ``a2enmod`` does, without its state under /var/lib: relative links."""
    for suffix in (".load", ".conf"):
        available = conf_dir / "mods-available" / f"{module}{suffix}"
        link = conf_dir / "mods-enabled" / f"{module}{suffix}"
        if available.exists() and not link.exists():
            os.symlink(f"../mods-available/{module}{suffix}", link)


def _rewrite_paths(conf_dir: Path, root: Path) -> None:
    """Point every absolute server path in the copy's text files into ``root``."""
    for path in conf_dir.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        if path.suffix not in (".conf", ".load") and path.name != "envvars":
            continue
        data = path.read_bytes()
        rewritten = _ABSOLUTE.sub(str(root).encode() + rb"\g<0>", data)
        if rewritten != data:
            path.write_bytes(rewritten)


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))


def _wait(ready, seconds: float, message: str) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(message)
        time.sleep(0.05)
