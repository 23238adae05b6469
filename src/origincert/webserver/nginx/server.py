"""nginx behind the web server contract.

``Nginx`` reads the configuration fresh on every call, plans edits as
``FileChange`` objects (it never writes), and runs ``nginx -t`` and the reload
through the one runner.

Which blocks get edited for a site: a site is every server block that shares
a hostname with another (a port-80 redirect block and its port-443 twin are
one site). For each hostname, the block that already listens with ``ssl`` (or
carries our include) is edited; where none does, the plain-HTTP block is.
"""

from __future__ import annotations

import logging
import os
import re
import signal
from collections.abc import Iterable, Sequence
from pathlib import Path

import crossplane

from origincert.errors import WebServerError
from origincert.runner import run
from origincert.webserver.base import CertFiles, Endpoint, FileChange, InstallPlan, Listen, Site
from origincert.webserver.nginx.config import Block, group_sites, read_blocks
from origincert.webserver.nginx.edit import install_block, uninstall_block
from origincert.webserver.nginx.master import master_pid, retire, workers
from origincert.webserver.nginx.text import decode, encode, find_block, parse_text

log = logging.getLogger(__name__)

DEFAULT_BINARY = "/usr/sbin/nginx"
DEFAULT_CONF = Path("/etc/nginx/nginx.conf")
DEFAULT_INCLUDE_DIR = Path("/etc/origincert/nginx")

# How long old workers may take to stop accepting after a reload: the master
# reads every certificate first (seconds for thousands of sites). Longer means
# it refused the new configuration, and verification reports what is served.
RETIRE_WITHIN = 30.0

_LINEAGE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


class Nginx:
    """The nginx web server, as configured at ``conf``."""

    kind = "nginx"

    def __init__(
        self,
        binary: str = DEFAULT_BINARY,
        conf: Path = DEFAULT_CONF,
        prefix: Path | None = None,
        reload_command: Sequence[str] | None = None,
        include_dir: Path = DEFAULT_INCLUDE_DIR,
        port_map: dict[int, int] | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.binary = binary
        self.conf = Path(conf).absolute()
        self.prefix = Path(prefix) if prefix is not None else None
        self.reload_command = list(reload_command) if reload_command else None
        self.include_dir = Path(include_dir).absolute()
        self.port_map = dict(port_map or {})
        self.timeout = timeout

    # reading

    def sites(self) -> list[Site]:
        return [site for site, _ in group_sites(self._blocks())]

    def site_for(self, hostnames: Iterable[str]) -> Site:
        """The one site that serves every name in ``hostnames``."""
        wanted = [name.lower() for name in hostnames]
        sites = self.sites()
        owners = {name: [s for s in sites if name in s.hostnames] for name in wanted}
        missing = [name for name, found in owners.items() if not found]
        if missing:
            raise WebServerError(
                f"no nginx server block serves {', '.join(missing)}",
                hint="add a server block with that server_name, then try again",
            )
        distinct = {owners[name][0].source.as_posix() + f":{owners[name][0].line}"
                    for name in wanted}
        if len(distinct) > 1:
            raise WebServerError(
                f"the names are served by different server blocks: {', '.join(sorted(distinct))}",
                hint="issue one certificate per site",
            )
        return owners[wanted[0]][0]

    def include_path(self, lineage: str) -> Path:
        if not _LINEAGE.match(lineage) or ".." in lineage:
            raise WebServerError(f"{lineage!r} cannot name an include file")
        return self.include_dir / f"{lineage}.conf"

    # planning

    def plan_install(
        self,
        site: Site,
        files: CertFiles,
        *,
        lineage: str,
        redirect: bool = False,
        replace: bool = False,
    ) -> InstallPlan:
        include = self.include_path(lineage)
        blocks = self._site_blocks(site)
        plan = InstallPlan()

        content = encode(render_include(lineage, files))
        current = include.read_bytes() if include.exists() else None
        if current != content:
            plan.changes.append(FileChange(include, current, content, mode=0o644))

        bound = frozenset((listen.address, listen.port) for other in self._blocks()
                          if other not in blocks for listen in other.listens
                          if listen.ssl and listen.address)

        def edit(text: str, block: Block, node) -> str:
            result = install_block(text, node, block, include=str(include),
                                   redirect=redirect, replace=replace, bound_tls=bound)
            plan.notes.extend(result.notes)
            return result.text

        plan.changes += _edit_files(choose_blocks(blocks), edit)
        log.info("planned install site=%s lineage=%s files=%d",
                 site.name, lineage, len(plan.changes))
        return plan

    def plan_uninstall(self, site: Site, *, lineage: str) -> InstallPlan:
        include = self.include_path(lineage)
        blocks = self._site_blocks(site)
        plan = InstallPlan()

        def edit(text: str, block: Block, node) -> str:
            undone = uninstall_block(text, node, include=str(include))
            return text if undone is None else undone

        plan.changes += _edit_files(blocks, edit)

        # the include file goes once no other block uses it
        others = [b for b in self._blocks() if b.lineage == lineage and b not in blocks]
        if include.exists() and not others:
            plan.changes.append(FileChange(include, include.read_bytes(), None))
        elif others:
            plan.notes.append(f"{include} is kept: {others[0].where} still uses it")
        log.info("planned uninstall site=%s lineage=%s files=%d",
                 site.name, lineage, len(plan.changes))
        return plan

    def plan_install_many(self, requests, *, redirect: bool = False,  # type: ignore
                          replace: bool = False):
        """Plans for many sites from one read of the configuration (batch.py)."""
        from origincert.webserver.nginx.batch import plan_many

        return plan_many(self, requests, redirect=redirect, replace=replace)

    def endpoints_many(self, sites):  # type: ignore[no-untyped-def]
        from origincert.webserver.nginx.batch import endpoints_many

        return endpoints_many(self, sites)

    # running nginx

    def config_test(self) -> None:
        argv = [self.binary, *self._args(), "-t"]
        done = run(argv, timeout=self.timeout)
        log.info("config test ok=%s", done.ok)
        if not done.ok:
            raise WebServerError(
                "nginx refused the configuration",
                hint="nginx names the file and line at fault",
                command=argv,
                output=done.output,
            )

    def reload(self) -> None:
        """Reload, and return once the old workers no longer take connections (master.py)."""
        master = self._master()
        old = workers(master) if master is not None else set()
        if self.reload_command or master is None or not self._signal(master):
            self._reload_by_command()
        retired = retire(old, timeout=RETIRE_WITHIN)
        if master is None or not retired:
            # Verification still polls; a user's next handshake may meet the old config.
            log.warning("reload sent, old workers not seen to retire master=%s", master)
        log.info("reload ok=True master=%s old_workers_retired=%s", master, retired)

    def _reload_by_command(self) -> None:
        argv = self.reload_command or [self.binary, *self._args(), "-s", "reload"]
        done = run(argv, timeout=self.timeout)
        if not done.ok:
            raise WebServerError(
                "nginx did not reload",
                hint="check that nginx is running and that this command works by hand",
                command=list(argv),
                output=done.output,
            )

    def endpoints(self, site: Site) -> list[Endpoint]:
        """Where the site's TLS listeners answer locally, read fresh from disk."""
        try:
            listens = [lst for block in self._site_blocks(site) for lst in block.listens]
        except WebServerError:
            listens = list(site.listens)
        return endpoints_of(listens, self.port_map)

    # helpers

    def _master(self) -> int | None:
        """The running master of this configuration; None when it is unclear."""
        try:
            return master_pid(self.binary, self.conf, self.prefix)
        except (OSError, crossplane.errors.NgxParserBaseException):
            return None

    @staticmethod
    def _signal(master: int) -> bool:
        """SIGHUP the master itself: ``nginx -s reload`` would parse everything again first."""
        try:
            os.kill(master, signal.SIGHUP)
        except OSError:
            return False
        return True

    def _args(self) -> list[str]:
        args = ["-c", str(self.conf)]
        return args + ["-p", str(self.prefix)] if self.prefix is not None else args

    def _blocks(self) -> list[Block]:
        return read_blocks(self.conf, self.include_dir)

    def _site_blocks(self, site: Site) -> list[Block]:
        """The blocks of ``site`` as the configuration on disk has them now."""
        for found, blocks in group_sites(self._blocks()):
            if set(found.hostnames) & set(site.hostnames):
                return blocks
        raise WebServerError(
            f"no nginx server block serves {site.name} any more",
            hint="the configuration changed since it was read; run the command again",
        )


def choose_blocks(blocks: list[Block]) -> list[Block]:
    """The blocks to edit so that every hostname of the site gets HTTPS."""
    _refuse_clashes(blocks)
    chosen: list[Block] = []
    names = [name for block in blocks for name in block.hostnames]
    for name in dict.fromkeys(names):
        serving = [b for b in blocks if name in b.hostnames]
        secure = [b for b in serving if b.has_ssl or b.lineage]
        if not secure and len(serving) > 1:
            where = " and ".join(b.where for b in serving)
            raise WebServerError(
                f"{name} is served over plain HTTP by {where}; origincert cannot tell which "
                "should get HTTPS",
                hint="add `listen 443 ssl;` to one of them by hand or merge them",
            )
        chosen += [b for b in (secure or serving) if b not in chosen]
    return chosen


def endpoints_of(listens: Iterable[Listen], port_map: dict[int, int]) -> list[Endpoint]:
    """Local addresses of the TLS listeners: IPv4 ones, or IPv6 ones when no IPv4."""
    secure = [listen for listen in listens if listen.ssl]
    picked = [listen for listen in secure if not listen.ipv6] or secure
    found: list[Endpoint] = []
    for listen in picked:
        host = listen.address or ("::1" if listen.ipv6 else "127.0.0.1")
        endpoint = Endpoint(host, port_map.get(listen.port, listen.port))
        if endpoint not in found:
            found.append(endpoint)
    return found


def render_include(lineage: str, files: CertFiles) -> str:
    return (
        f"# origincert: the certificate of {lineage}. Written by origincert; do not edit.\n"
        f"ssl_certificate {_quote(files.certificate)};\n"
        f"ssl_certificate_key {_quote(files.key)};\n"
        "# Origin CA certificates have no OCSP responder to staple.\n"
        "ssl_stapling off;\n"
    )


def _refuse_clashes(blocks: list[Block]) -> None:
    """Two blocks with one name on one socket: nginx would ignore the second."""
    for i, first in enumerate(blocks):
        for second in blocks[i + 1:]:
            shared = set(first.hostnames) & set(second.hostnames)
            if shared and first.sockets() & second.sockets():
                raise WebServerError(
                    f"{sorted(shared)[0]} is claimed by both {first.where} and {second.where} "
                    "on the same port",
                    hint="remove the name from one of the two server blocks",
                )


def _edit_files(blocks: list[Block], edit) -> list[FileChange]:
    """Apply ``edit`` to every block, file by file, last block of a file first."""
    changes: list[FileChange] = []
    for path in dict.fromkeys(block.file for block in blocks):
        before = path.read_bytes()
        text = decode(before)
        # from the bottom up, so that earlier blocks keep their line numbers
        for block in sorted((b for b in blocks if b.file == path), key=lambda b: -b.line):
            node = find_block(parse_text(text), "server", block.line)
            if node is None:
                raise WebServerError(f"{block.where}: server block not found where nginx has it")
            text = edit(text, block, node)
        if encode(text) != before:
            changes.append(FileChange(path, before, encode(text)))
    return changes


def _quote(path: Path) -> str:
    value = str(path)
    if re.search(r"[\s;{}#'\"\\$]", value):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value
