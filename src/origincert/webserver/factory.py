"""The web server of this machine: the one named, or the one that runs here."""

from __future__ import annotations

import shutil
from pathlib import Path

from origincert.errors import ConfigError
from origincert.settings import WEBSERVERS, Settings
from origincert.webserver.base import WebServer

# Process names and main config files that tell which server this machine runs.
_PROCESSES = {"nginx": ("nginx",), "apache": ("apache2", "httpd"), "caddy": ("caddy",)}
_CONFIGS = {"nginx": "/etc/nginx/nginx.conf", "apache": "/etc/apache2/apache2.conf",
            "caddy": "/etc/caddy/Caddyfile"}


def open_webserver(settings: Settings) -> WebServer:
    kind = settings.webserver or detect()
    options = settings.server(kind)
    if kind == "nginx":
        from origincert.webserver.nginx.server import Nginx

        return Nginx(binary=options.text("binary") or shutil.which("nginx") or "/usr/sbin/nginx",
                     conf=options.path("conf", _CONFIGS["nginx"]),
                     prefix=Path(options.options["prefix"]) if options.text("prefix") else None,
                     reload_command=options.command(),
                     include_dir=settings.paths.config_dir / "nginx",
                     port_map=options.port_map())
    if kind == "apache":
        from origincert.webserver.apache.server import Apache

        return Apache(ctl=options.text("ctl", "apache2ctl") or "apache2ctl",
                      conf_dir=options.path("conf_dir", "/etc/apache2"),
                      reload_command=options.command(),
                      include_dir=settings.paths.config_dir / "apache",
                      port_map=options.port_map())
    from origincert.webserver.caddy.server import Caddy

    return Caddy(binary=options.text("binary", "caddy") or "caddy",
                 caddyfile=options.path("caddyfile", _CONFIGS["caddy"]),
                 reload_command=options.command(),
                 admin_address=options.text("admin_address"),
                 include_dir=settings.paths.config_dir / "caddy",
                 port_map=options.port_map())


def detect(proc: Path = Path("/proc"), root: Path = Path("/")) -> str:
    """The one web server running here, else the one installed; never a guess."""
    running = _running(proc)
    if len(running) == 1:
        return running.pop()
    candidates = running or {k for k, conf in _CONFIGS.items()
                             if (root / conf.lstrip("/")).exists()}
    if len(candidates) == 1:
        return candidates.pop()
    found = ", ".join(sorted(candidates)) or "none"
    raise ConfigError(f"cannot tell which web server to use (found: {found})",
                      hint=f"choose one with --webserver {'|'.join(WEBSERVERS)}, "
                           "or set webserver in origincert.toml")


def _running(proc: Path) -> set[str]:
    names = {name: kind for kind, procs in _PROCESSES.items() for name in procs}
    found = set()
    for comm in proc.glob("[0-9]*/comm"):
        try:
            name = comm.read_text().strip()
        except OSError:
            continue
        if name in names:
            found.add(names[name])
    return found
