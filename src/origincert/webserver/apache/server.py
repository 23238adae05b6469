"""Apache (Debian layout, mod_ssl) behind the web server contract.

``Apache`` runs every command as Debian runs an instance of Apache:
``APACHE_CONFDIR=<conf_dir> apache2ctl ...``, which sources
``<conf_dir>/envvars`` (run, lock and log folders, pid file) and passes
``-d <conf_dir>``. The same adapter therefore drives the system's Apache
(``/etc/apache2``) and a second instance (``/etc/apache2-foo``, or a test's
copy).

It reads the configuration fresh on every call (see ``config``), plans edits
as ``FileChange`` objects (see ``edit``; it never writes), and runs
``apache2ctl configtest`` and ``apache2ctl graceful`` through the one runner.

Enabling mod_ssl on Debian means links in ``mods-enabled``; a plan holds
file contents only (the transaction writes and journals bytes), so where
mod_ssl is not loaded the plan adds ``mods-enabled/ssl.load``, ``ssl.conf``
and the modules they depend on as small marked files with the contents of
``mods-available``. Apache reads them exactly as it reads the links;
``a2dismod`` would refuse them as "not a symbolic link", and uninstall
removes them once no site of origincert needs them.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from origincert.errors import WebServerError
from origincert.runner import Completed, run
from origincert.webserver.apache import edit
from origincert.webserver.apache.config import VHost, dormant_vhosts, group_sites, read_vhosts
from origincert.webserver.base import CertFiles, Endpoint, FileChange, InstallPlan, Site

log = logging.getLogger(__name__)

DEFAULT_CTL = "apache2ctl"
DEFAULT_CONF_DIR = Path("/etc/apache2")
DEFAULT_INCLUDE_DIR = Path("/etc/origincert/apache")

MODULE_MARK = "# origincert: enabled by origincert for HTTPS"
_LINEAGE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_LOAD = re.compile(r"^\s*LoadModule\s+(\S+)", re.MULTILINE)
_DEPENDS = re.compile(r"^#\s*Depends:\s*(.*)$", re.MULTILINE)

# Per file: (the vhost's line, the edit of the file's text); applied bottom-up.
Edits = dict[Path, list[tuple[int, Callable[[str], str]]]]


class ConfigRefusedError(WebServerError):
    """``apache2ctl configtest`` said no; the one line shown is Apache's own."""

    def one_line(self) -> str:
        words = apache_words(self.output)
        line = f"{self.message}: {words}" if words else self.message
        return f"{line}; {self.hint}" if self.hint else line


class Apache:
    """The Apache web server whose configuration is ``conf_dir``."""

    kind = "apache"

    def __init__(
        self,
        ctl: str = DEFAULT_CTL,
        conf_dir: Path = DEFAULT_CONF_DIR,
        reload_command: Sequence[str] | None = None,
        include_dir: Path = DEFAULT_INCLUDE_DIR,
        port_map: dict[int, int] | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.ctl = ctl
        self.conf_dir = Path(conf_dir).absolute()
        self.reload_command = list(reload_command) if reload_command else None
        self.include_dir = Path(include_dir).absolute()
        self.port_map = dict(port_map or {})
        self.env = dict(env or {})
        self.timeout = timeout

    # reading

    def sites(self) -> list[Site]:
        return [site for site, _ in group_sites(self._vhosts())]

    def site_for(self, hostnames: Iterable[str]) -> Site:
        """The one site that serves every name in ``hostnames``."""
        wanted = [name.lower() for name in hostnames]
        sites = self.sites()
        owners = {name: [s for s in sites if name in s.hostnames] for name in wanted}
        missing = [name for name, found in owners.items() if not found]
        if missing:
            raise WebServerError(
                f"no Apache virtual host serves {', '.join(missing)}",
                hint="add a <VirtualHost> with that ServerName or ServerAlias, then try again",
            )
        distinct = {f"{owners[name][0].source}:{owners[name][0].line}" for name in wanted}
        if len(distinct) > 1:
            raise WebServerError(
                f"the names are served by different sites: {', '.join(sorted(distinct))}",
                hint="issue one certificate per site",
            )
        return owners[wanted[0]][0]

    def include_path(self, lineage: str) -> Path:
        """origincert's certificate directives for ``lineage``."""
        if not _LINEAGE.match(lineage) or ".." in lineage:
            raise WebServerError(f"{lineage!r} cannot name an include file")
        return self.include_dir / f"{lineage}.conf"

    def twin_path(self, lineage: str, index: int = 0) -> Path:
        """The HTTPS copy of a site's port-80 vhost (the second one gets ``-2``)."""
        self.include_path(lineage)
        suffix = f"-{index + 1}" if index else ""
        return self.include_dir / "vhosts" / f"{lineage}{suffix}.conf"

    def loaded_modules(self) -> set[str]:
        """The modules Apache loads with this configuration (``apache2ctl -M``)."""
        done = self._ctl(["-M"])
        if not done.ok:
            raise self._refused(done)
        return {line.split()[0] for line in done.stdout.splitlines()[1:] if line.strip()}

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
        vhosts = self._site_vhosts(site)
        plan = InstallPlan()

        content = render_include(lineage, files).encode()
        _change(plan, include, content, mode=0o644)

        modules = self.loaded_modules()
        own = [v for v in vhosts if not v.twin]
        _refuse_mixed(own)
        secure = [v for v in own if v.https]
        plain = [v for v in own if not v.https]
        if "ssl_module" not in modules:
            # enabling mod_ssl brings back TLS vhosts that only wait for it
            include_dir = Path(os.path.realpath(self.include_dir))
            secure += dormant_vhosts(own, site.hostnames, self.conf_dir, include_dir)
        edits: Edits = {}
        if secure:
            _edit_secure(plan, edits, site, secure, include, replace)
        else:
            self._add_twins(plan, edits, plain, include, lineage)

        for vhost in plain:
            self._plan_redirect(plan, vhost, redirect, modules, edits)

        plan.changes += _edit_files(edits)
        if "ssl_module" not in modules:
            plan.changes += self._enable_ssl(modules, plan)
        log.info("planned install site=%s lineage=%s files=%d",
                 site.name, lineage, len(plan.changes))
        return plan

    def plan_uninstall(self, site: Site, *, lineage: str) -> InstallPlan:
        include = self.include_path(lineage)
        everything = self._vhosts()
        vhosts = self._site_vhosts(site, everything)
        plan = InstallPlan()

        held: list[str] = []
        edits: Edits = {}
        for vhost in (v for v in vhosts if not v.twin):
            def undo(text: str, v: VHost = vhost) -> str:
                text, lines = edit.uninstall_vhost(text, v)
                held.extend(lines)
                return text
            edits.setdefault(vhost.file, []).append((vhost.line, undo))
        plan.changes += _edit_files(edits)

        # the HTTPS copies the removed groups included go too
        for path in self._twins_named(held):
            plan.changes.append(FileChange(path, path.read_bytes(), None))

        others = [v for v in everything if v.lineage and v not in vhosts]
        if include.exists() and not any(v.lineage == lineage for v in others):
            plan.changes.append(FileChange(include, include.read_bytes(), None))
        elif include.exists():
            plan.notes.append(f"{include} is kept: {others[0].where} still uses it")
        if not others:
            plan.changes += self._disable_ssl()
        log.info("planned uninstall site=%s lineage=%s files=%d",
                 site.name, lineage, len(plan.changes))
        return plan

    # running apache

    def config_test(self) -> None:
        done = self._ctl(["configtest"])
        log.info("config test ok=%s", done.ok)
        if not done.ok:
            raise self._refused(done)

    def reload(self) -> None:
        if self.reload_command:
            done = run(self.reload_command, timeout=self.timeout, env=self.environment())
        else:
            done = self._ctl(["graceful"])
        log.info("reload ok=%s", done.ok)
        if not done.ok:
            raise WebServerError(
                "Apache did not reload",
                hint="check that Apache is running and that this command works by hand",
                command=list(done.argv),
                output=done.output,
            )

    def endpoints(self, site: Site) -> list[Endpoint]:
        """Where the site's HTTPS vhosts answer locally, read fresh from disk."""
        found: list[Endpoint] = []
        for vhost in self._site_vhosts(site):
            if not vhost.ssl:
                continue
            for address, port in vhost.sockets:
                host = address or "127.0.0.1"
                endpoint = Endpoint(host, self.port_map.get(port, port))
                if endpoint not in found:
                    found.append(endpoint)
        return found

    def environment(self, **extra: str) -> dict[str, str]:
        """The environment of apache2ctl: ours, APACHE_CONFDIR, and the configured extras."""
        return {**os.environ, "APACHE_CONFDIR": str(self.conf_dir), **self.env, **extra}

    # helpers

    def _ctl(self, args: list[str]) -> Completed:
        return run([self.ctl, *args], timeout=self.timeout, env=self.environment())

    def _refused(self, done: Completed) -> WebServerError:
        if done.returncode == 127:
            return WebServerError(
                f"{self.ctl} is not installed here",
                hint="install Apache (apt-get install apache2) or set the apachectl to use",
                command=list(done.argv),
                output=done.output,
            )
        return ConfigRefusedError(
            "Apache refused the configuration",
            hint="Apache names the file and line at fault",
            command=list(done.argv),
            output=done.output,
        )

    def _vhosts(self) -> list[VHost]:
        done = self._ctl(["-S"])
        if not done.ok:
            raise self._refused(done)
        include_dir = Path(os.path.realpath(self.include_dir))
        return read_vhosts(done.stdout, self.conf_dir, include_dir)

    def _site_vhosts(self, site: Site, vhosts: list[VHost] | None = None) -> list[VHost]:
        """The vhosts of ``site`` as the configuration on disk has them now."""
        for found, group in group_sites(vhosts if vhosts is not None else self._vhosts()):
            if set(found.hostnames) & set(site.hostnames):
                return group
        raise WebServerError(
            f"no Apache virtual host serves {site.name} any more",
            hint="the configuration changed since it was read; run the command again",
        )

    def _add_twins(self, plan: InstallPlan, edits: Edits, plain: list[VHost], include: Path,
                   lineage: str) -> None:
        """An HTTPS copy of every port-80 vhost of the site, included right after it."""
        for number, vhost in enumerate(plain):
            twin = self.twin_path(lineage, number)
            self._plan_twin(plan, vhost, twin, include, lineage)
            edits.setdefault(vhost.file, []).append(
                (vhost.line, lambda text, v=vhost, t=twin: edit.link_twin(text, v, t)))

    def _plan_twin(self, plan: InstallPlan, vhost: VHost, twin: Path, include: Path,
                   lineage: str) -> None:
        text = _read_text(vhost.file)
        made = edit.render_twin(text, vhost, list(vhost.addresses), include=include,
                                lineage=lineage)
        plan.notes += made.notes
        _change(plan, twin, made.text.encode("utf-8", "surrogateescape"), mode=0o644)
        plan.notes.append(
            f"{vhost.file}:{vhost.line}: HTTPS is served by a copy of this vhost on port 443, "
            f"{twin}; edit both, or run `origincert install` again after editing this one"
        )

    def _plan_redirect(self, plan: InstallPlan, vhost: VHost, redirect: bool,
                       modules: set[str], edits: Edits) -> None:
        found = edit.redirects(_read_text(vhost.file), vhost)
        for item in found:
            plan.notes.append(
                f"the HTTP→HTTPS redirect in {vhost.file.name}:{item.line} stays; it loops if "
                "the zone is on Flexible — origincert sets Full (strict)"
            )
        if not redirect or found:
            return
        if "rewrite_module" not in modules:
            plan.notes.append(f"{vhost.where}: mod_rewrite is not enabled, so no redirect to "
                              "HTTPS was added (`a2enmod rewrite` first)")
            return
        edits.setdefault(vhost.file, []).append(
            (vhost.line, lambda text, v=vhost: edit.add_redirect(text, v)))
        plan.notes.append(f"{vhost.where}: plain HTTP now redirects to HTTPS")

    def _enable_ssl(self, loaded: set[str], plan: InstallPlan) -> list[FileChange]:
        """mods-enabled entries for mod_ssl and what it depends on, as marked files."""
        available = self.conf_dir / "mods-available"
        enabled = self.conf_dir / "mods-enabled"
        ssl_load = available / "ssl.load"
        if not ssl_load.is_file() or not enabled.is_dir():
            raise WebServerError(
                "mod_ssl is not loaded, and there is no mods-available/ssl.load to enable",
                hint="load mod_ssl (LoadModule ssl_module ...), then try again",
            )
        depends = _DEPENDS.search(ssl_load.read_text())
        modules = (depends.group(1).split() if depends else []) + ["ssl"]

        changes: list[FileChange] = []
        for module in modules:
            load = available / f"{module}.load"
            ident = _LOAD.search(load.read_text()) if load.is_file() else None
            if ident is None or ident.group(1) in loaded:
                continue
            for suffix in (".load", ".conf"):
                source, target = available / f"{module}{suffix}", enabled / f"{module}{suffix}"
                if source.is_file() and not os.path.lexists(target):
                    mark = (f"{MODULE_MARK} (`a2enmod {module}` makes a link instead); "
                            "`origincert uninstall` removes it\n")
                    changes.append(FileChange(target, None, mark.encode() + source.read_bytes(),
                                              mode=0o644))
        names = ", ".join(change.path.name for change in changes)
        plan.notes.append(f"mod_ssl was not enabled: origincert enables it ({names} in "
                          f"{enabled}); every <IfModule mod_ssl.c> section now takes effect")
        return changes

    def _disable_ssl(self) -> list[FileChange]:
        """Our marked module files, once no site of origincert needs them."""
        enabled = self.conf_dir / "mods-enabled"
        changes = []
        for entry in sorted(enabled.glob("*")) if enabled.is_dir() else []:
            if entry.is_symlink() or not entry.is_file():
                continue
            data = entry.read_bytes()
            if data.startswith(MODULE_MARK.encode()):
                changes.append(FileChange(entry, data, None))
        return changes

    def _twins_named(self, held: list[str]) -> list[Path]:
        twins = []
        folder = self.include_dir / "vhosts"
        for line in held:
            match = re.match(r'^Include\s+"?([^"]+?)"?\s*$', line)
            if match and Path(match.group(1)).parent == folder and Path(match.group(1)).exists():
                twins.append(Path(match.group(1)))
        return twins


def render_include(lineage: str, files: CertFiles) -> str:
    return (
        f"# origincert: the certificate of {lineage}. Written by origincert; do not edit.\n"
        "SSLEngine on\n"
        f"SSLCertificateFile {_quote(files.certificate)}\n"
        f"SSLCertificateKeyFile {_quote(files.key)}\n"
        "# Origin CA certificates have no OCSP responder to staple.\n"
        "SSLUseStapling off\n"
    )


def apache_words(output: str) -> str:
    """The part of Apache's output that names the problem (often two lines)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for index, line in enumerate(lines):
        if "Syntax error" in line:
            return " ".join(lines[index:index + 2])
    ours = [line for line in lines
            if not line.startswith(("Action '", "The Apache error log"))]
    for line in ours:
        if "error" in line.lower() or ("AH00" in line and "Warning" not in line):
            return line
    return ours[-1] if ours else ""


def _edit_secure(plan: InstallPlan, edits: Edits, site: Site, secure: list[VHost],
                 include: Path, replace: bool) -> None:
    """Our include in every HTTPS vhost; names none of them has go to the first."""
    covered = {name for vhost in secure for name in vhost.hostnames}
    missing = [name for name in site.hostnames if name not in covered]
    for number, vhost in enumerate(secure):
        aliases = missing if number == 0 else []
        edits.setdefault(vhost.file, []).append(
            (vhost.line, _in_place(vhost, include, aliases, replace, plan)))


def _in_place(vhost: VHost, include: Path, aliases: list[str], replace: bool,
              plan: InstallPlan) -> Callable[[str], str]:
    def apply(text: str) -> str:
        done = edit.install_in_place(text, vhost, include=include, aliases=aliases,
                                     replace=replace)
        plan.notes.extend(done.notes)
        return done.text
    return apply


def _refuse_mixed(vhosts: list[VHost]) -> None:
    """One vhost on port 443 and another port, without TLS: adding TLS would break the other."""
    for vhost in vhosts:
        if not vhost.ssl and 443 in vhost.ports and len(vhost.ports) > 1:
            raise WebServerError(
                f"{vhost.where} answers on port 443 and on port "
                f"{min(vhost.ports - {443})} in one <VirtualHost>",
                hint="split it into a port-80 and a port-443 <VirtualHost>, then try again",
            )


def _edit_files(edits: Edits) -> list[FileChange]:
    """Apply each file's edits from the bottom up, so earlier lines keep their numbers."""
    changes: list[FileChange] = []
    for path, items in edits.items():
        before = path.read_bytes()
        text = before.decode("utf-8", "surrogateescape")
        for _, apply in sorted(items, key=lambda item: -item[0]):
            text = apply(text)
        after = text.encode("utf-8", "surrogateescape")
        if after != before:
            changes.append(FileChange(path, before, after))
    return changes


def _change(plan: InstallPlan, path: Path, content: bytes, *, mode: int) -> None:
    current = path.read_bytes() if path.exists() else None
    if current != content:
        plan.changes.append(FileChange(path, current, content, mode=mode))


def _read_text(path: Path) -> str:
    return path.read_bytes().decode("utf-8", "surrogateescape")


def _quote(path: Path) -> str:
    value = str(path)
    return f'"{value}"' if re.search(r"\s", value) else value
