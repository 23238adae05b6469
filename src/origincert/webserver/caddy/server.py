"""Caddy behind the web server contract.

``Caddy`` asks Caddy itself what the Caddyfile means (``caddy adapt``: the
hostnames, the ports, the certificates it loads, the redirects of its
automatic HTTPS), finds each site block in the text by matching its
addresses, plans edits as ``FileChange`` objects (it never writes), and runs
``caddy validate`` and ``caddy reload`` through the one runner.

A site gets origincert's certificate through a marked ``import`` of a
snippet file origincert owns, which holds ``tls <certificate> <key>``. With a
certificate loaded for its names, Caddy's automatic HTTPS obtains none of its
own for them (no competing certificate) but keeps its HTTP->HTTPS redirect,
which the plan's notes tell the user about (field case C01).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from origincert.errors import HostnameError, OriginCertError, WebServerError
from origincert.hostnames import validate
from origincert.pki.certificate import covers, load_certificate, sans
from origincert.runner import Completed, run
from origincert.webserver.base import CertFiles, Endpoint, FileChange, InstallPlan, Listen, Site
from origincert.webserver.caddy.adapted import Adapted, parse_adapted
from origincert.webserver.caddy.caddyfile import (
    SiteBlock,
    decode,
    encode,
    read_site_blocks,
    read_text,
)
from origincert.webserver.caddy.edit import (
    find_group,
    imported,
    install_block,
    own_certificates,
    uninstall_block,
)

log = logging.getLogger(__name__)

DEFAULT_BINARY = "caddy"
DEFAULT_CADDYFILE = Path("/etc/caddy/Caddyfile")
DEFAULT_INCLUDE_DIR = Path("/etc/origincert/caddy")

_LINEAGE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_NEEDS_QUOTES = re.compile(r"[\s\"'`{}#\\]")


class Caddy:
    """The Caddy web server, as configured by ``caddyfile``."""

    kind = "caddy"

    def __init__(
        self,
        binary: str = DEFAULT_BINARY,
        caddyfile: Path = DEFAULT_CADDYFILE,
        reload_command: Sequence[str] | None = None,
        admin_address: str | None = None,
        include_dir: Path = DEFAULT_INCLUDE_DIR,
        port_map: dict[int, int] | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.binary = binary
        self.caddyfile = Path(caddyfile).absolute()
        self.reload_command = list(reload_command) if reload_command else None
        self.admin_address = admin_address   # None: the one the Caddyfile names
        self.include_dir = Path(include_dir).absolute()
        self.port_map = dict(port_map or {})
        self.env = dict(env) if env is not None else None
        self.timeout = timeout
        self.skipped: list[str] = []         # addresses the last sites() left out, and why

    # reading

    def sites(self) -> list[Site]:
        adapted = self.adapt()
        self.skipped = []
        found: list[Site] = []
        for block in read_site_blocks(self.caddyfile):
            site = self._site(block, adapted)
            if site is not None:
                found.append(site)
        return found

    def adapt(self) -> Adapted:
        """Caddy's own reading of the Caddyfile."""
        done = self._caddy("adapt")
        if not done.ok:
            raise WebServerError("caddy could not read the Caddyfile",
                                 hint="caddy names the file and line at fault",
                                 command=list(done.argv), output=caddy_words(done.output))
        return parse_adapted(done.stdout)

    def include_path(self, lineage: str) -> Path:
        if not _LINEAGE.match(lineage) or ".." in lineage:
            raise WebServerError(f"{lineage!r} cannot name a snippet file")
        return self.include_dir / f"{lineage}.caddy"

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
        adapted = self.adapt()
        block = self._block_of(site, adapted)
        hostnames = self._hostnames(block, adapted)
        if self._plain_only(block, adapted):
            raise WebServerError(
                f"{block.where}: Caddy serves {site.name} over plain HTTP only (an http:// "
                "address)",
                hint="give the site an address without http:// so that Caddy serves HTTPS",
            )
        self._refuse_hidden_certificate(block, adapted, hostnames)
        plan = InstallPlan()

        content = render_include(lineage, files).encode()
        current = include.read_bytes() if include.exists() else None
        if current != content:
            plan.changes.append(FileChange(include, current, content, mode=0o644))

        before = block.file.read_bytes()
        edited = install_block(decode(before), block, include=_quote(str(include)),
                               replace=replace)
        if encode(edited.text) != before:
            plan.changes.append(FileChange(block.file, before, encode(edited.text)))
            plan.notes += edited.notes
            plan.notes += https_notes(hostnames, adapted, redirect=redirect,
                                      uncovered=uncovered_names(files, hostnames))
        log.info("planned install site=%s lineage=%s files=%d",
                 site.name, lineage, len(plan.changes))
        return plan

    def plan_uninstall(self, site: Site, *, lineage: str) -> InstallPlan:
        include = self.include_path(lineage)
        adapted = self.adapt()
        block = self._block_of(site, adapted)
        plan = InstallPlan()

        before = block.file.read_bytes()
        undone = uninstall_block(decode(before), block, include=_quote(str(include)))
        if undone is not None:
            plan.changes.append(FileChange(block.file, before, encode(undone)))
            names = ", ".join(self._hostnames(block, adapted))
            plan.notes.append(
                f"{block.where}: Caddy's automatic HTTPS manages {names} again: unless the "
                "site has its own tls line, Caddy will obtain a public certificate for them"
            )

        # the snippet goes once no other site block imports it
        others = [b for b in read_site_blocks(self.caddyfile)
                  if b.where != block.where and self._imports(b) == include]
        if include.exists() and not others:
            plan.changes.append(FileChange(include, include.read_bytes(), None))
        elif others:
            plan.notes.append(f"{include} is kept: {others[0].where} still imports it")
        log.info("planned uninstall site=%s lineage=%s files=%d",
                 site.name, lineage, len(plan.changes))
        return plan

    # running caddy

    def config_test(self) -> None:
        done = self._caddy("validate")
        log.info("config test ok=%s", done.ok)
        if not done.ok:
            raise WebServerError(
                "caddy refused the configuration",
                hint="caddy's message names what is wrong",
                command=list(done.argv),
                output=caddy_words(done.output),
            )

    def reload(self) -> None:
        if self.reload_command:
            done = run(self.reload_command, timeout=self.timeout, env=self._env())
        else:
            # --force: a renewed certificate at the same paths leaves the config
            # unchanged, and Caddy would skip the reload without it
            extra = ["--force"] + (["--address", self.admin_address] if self.admin_address
                                   else [])
            done = self._caddy("reload", *extra)
        log.info("reload ok=%s", done.ok)
        if not done.ok:
            raise WebServerError(
                "caddy did not reload",
                hint="check that caddy is running with its admin endpoint on, and that "
                     "this command works by hand",
                command=list(done.argv),
                output=caddy_words(done.output),
            )

    def endpoints(self, site: Site) -> list[Endpoint]:
        """Where the site's TLS listeners answer locally, read fresh from disk."""
        try:
            listens = self._block_site(site).listens
        except WebServerError:
            listens = site.listens
        found: list[Endpoint] = []
        for listen in (listen for listen in listens if listen.ssl):
            host = listen.address
            if host in (None, "0.0.0.0", "::"):
                host = "::1" if listen.ipv6 else "127.0.0.1"
            endpoint = Endpoint(host, self.port_map.get(listen.port, listen.port))
            if endpoint not in found:
                found.append(endpoint)
        return found

    # helpers

    def _caddy(self, command: str, *extra: str) -> Completed:
        argv = [self.binary, command, "--config", str(self.caddyfile),
                "--adapter", "caddyfile", *extra]
        return run(argv, timeout=self.timeout, env=self._env())

    def _env(self) -> dict[str, str] | None:
        return {**os.environ, **self.env} if self.env is not None else None

    def _site(self, block: SiteBlock, adapted: Adapted) -> Site | None:
        hostnames = self._hostnames(block, adapted, note=True)
        if not hostnames:
            return None
        plain = self._plain_only(block, adapted)
        listens: list[Listen] = []
        for name in hostnames:
            listens += [lst for lst in adapted.listens[name]
                        if lst not in listens and not (plain and lst.ssl)]
        listens.sort(key=lambda listen: (not listen.ssl, listen.port))
        pair = next((adapted.certificates[n] for n in hostnames if n in adapted.certificates),
                    None)
        return Site(
            name=hostnames[0],
            hostnames=tuple(hostnames),
            source=block.file,
            line=block.line,
            listens=tuple(listens),
            certificate=pair[0] if pair else None,
            key=pair[1] if pair else None,
            managed=self._imports(block) is not None,
        )

    def _hostnames(self, block: SiteBlock, adapted: Adapted, *, note: bool = False) -> list[str]:
        """The certifiable hostnames of ``block`` that Caddy confirms it serves."""
        found: list[str] = []
        for address in block.addresses:
            host, why = address_host(address)
            if host is not None and not adapted.knows(host):
                host, why = None, "caddy adapt does not show it"
            if host is None:
                if note:
                    self.skipped.append(f"{block.where}: {address} left out: {why}")
                    log.info("address skipped where=%s address=%s why=%s",
                             block.where, address, why)
                continue
            if host not in found:
                found.append(host)
        return found

    def _imports(self, block: SiteBlock) -> Path | None:
        """The snippet of origincert that ``block`` imports, if any."""
        text = read_text(block.file)
        group = find_group(text, block)
        path = imported(text[group[0]:group[1]]) if group else None
        return Path(path.strip("\"`")) if path else None

    def _block_of(self, site: Site, adapted: Adapted) -> SiteBlock:
        """The site block of ``site`` as the Caddyfile on disk has it now."""
        wanted = set(site.hostnames)
        serving = [block for block in read_site_blocks(self.caddyfile)
                   if set(self._hostnames(block, adapted)) & wanted]
        # a name can have an http:// block beside its HTTPS one: the HTTPS one is the site
        serving.sort(key=lambda block: self._plain_only(block, adapted))
        if serving:
            return serving[0]
        raise WebServerError(
            f"no Caddy site block serves {site.name} any more",
            hint="the Caddyfile changed since it was read; run the command again",
        )

    def _plain_only(self, block: SiteBlock, adapted: Adapted) -> bool:
        """Every certifiable address of ``block`` is http:// or on Caddy's HTTP port."""
        plain_port = f":{adapted.http_port}"
        addresses = [a for a in block.addresses if address_host(a)[0] is not None]
        return bool(addresses) and all(
            a.lower().startswith("http://") or a.split("://")[-1].split("/")[0].endswith(plain_port)
            for a in addresses
        )

    def _block_site(self, site: Site) -> Site:
        found = [s for s in self.sites() if set(s.hostnames) & set(site.hostnames)]
        found.sort(key=lambda s: not s.https)
        if found:
            return found[0]
        raise WebServerError(f"no Caddy site block serves {site.name} any more")

    def _refuse_hidden_certificate(self, block, adapted: Adapted, hostnames) -> None:
        """A certificate Caddy loads for the site from outside its block (an import)."""
        if own_certificates(block) or self._imports(block) is not None:
            return
        loaded = [adapted.certificates[n] for n in hostnames if n in adapted.certificates]
        if loaded:
            raise WebServerError(
                f"{block.where}: Caddy loads the certificate {loaded[0][0]} for {hostnames[0]} "
                "from outside the site block",
                hint="move that `tls` line into the site block, then try again",
            )


def address_host(address: str) -> tuple[str | None, str]:
    """The certifiable hostname of a site address, or None and why not."""
    rest = address.strip()
    scheme, sep, after = rest.partition("://")
    if sep:
        rest = after
        if scheme.lower() not in ("http", "https"):
            return None, f"the scheme {scheme} is not for a web site"
    rest = rest.split("/", 1)[0]
    if rest.startswith("["):
        return None, "an IP address has no hostname to certify"
    host = rest.rsplit(":", 1)[0] if ":" in rest else rest
    if not host:
        return None, "it names a port only, no hostname"
    if "{" in host:
        return None, "it holds a placeholder that only Caddy expands"
    try:
        return validate(host), ""
    except HostnameError as err:
        return None, err.message


def https_notes(
    hostnames: list[str], adapted: Adapted, *, redirect: bool, uncovered: list[str]
) -> list[str]:
    """What changes for Caddy's automatic HTTPS, in words for the user."""
    names = ", ".join(hostnames)
    covered = [name for name in hostnames if name not in uncovered]
    notes = []
    if covered:
        notes.append(
            f"Caddy obtains no certificate of its own for {', '.join(covered)} any more: the "
            "origin certificate loaded by the tls line covers them, so nothing competes with it"
        )
    if uncovered:
        notes.append(
            f"the origin certificate does not cover {', '.join(uncovered)}: Caddy's automatic "
            "HTTPS keeps obtaining its own certificate for them"
        )
    redirected = [name for name in hostnames if name in adapted.redirected]
    if redirected:
        notes.append(
            f"Caddy's automatic HTTPS keeps redirecting plain HTTP to HTTPS (308) for "
            f"{', '.join(redirected)}; origincert left that as it is. With the SSL mode "
            "Flexible this redirect loops (field case C01); with Full (strict) it does not"
            + ("" if redirect else "; it stays although no redirect was asked for, since "
               "it is Caddy's default (`auto_https disable_redirects` turns it off)")
        )
    own_http = [name for name in hostnames if name in adapted.plain_blocks]
    if own_http:
        notes.append(
            f"plain HTTP for {', '.join(own_http)} is served by its own http:// site block, "
            "which origincert left as it is; if it redirects to HTTPS, the SSL mode Flexible "
            "loops (field case C01), Full (strict) does not"
        )
    elif not redirected and redirect:
        notes.append(f"Caddy's automatic redirects are off for {names} (auto_https); "
                     "origincert added none, so plain HTTP is not redirected")
    return notes


def uncovered_names(files: CertFiles, hostnames: list[str]) -> list[str]:
    """The names the certificate at ``files`` does not cover (none if it is not readable)."""
    try:
        names = sans(load_certificate(files.certificate.read_bytes()))
    except (OSError, OriginCertError):
        return []
    return [name for name in hostnames if not covers(names, name)]


def render_include(lineage: str, files: CertFiles) -> str:
    return (
        f"# origincert: the certificate of {lineage}. Written by origincert; do not edit.\n"
        f"tls {_quote(str(files.certificate))} {_quote(str(files.key))}\n"
    )


def caddy_words(output: str) -> str:
    """Caddy's output with its own error lines first, before its JSON log lines.

    Caddy logs JSON lines (some of them warnings that carry an "error" field,
    such as OCSP stapling for Origin CA certificates), then prints the real
    reason as ``Error: ...``; that line is what the user must read first.
    """
    lines = output.splitlines()
    plain = [line for line in lines if line.strip() and not line.lstrip().startswith("{")]
    logged = [line for line in lines if line.lstrip().startswith("{")]
    return "\n".join(plain + logged)


def _quote(value: str) -> str:
    if _NEEDS_QUOTES.search(value):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value
