"""Settings: the configuration file, overridden by the command line.

The file is ``<config dir>/origincert.toml``. Every key is optional; the
defaults describe standard Debian installs::

    webserver = "nginx"          # or "apache", "caddy"; default: detected
    api_base = "https://api.cloudflare.com/client/v4"
    letsencrypt_dir = "/etc/letsencrypt"   # where certbot keeps its renewals
    acme_sh_home = "/root/.acme.sh"

    [nginx]
    binary = "/usr/sbin/nginx"
    conf = "/etc/nginx/nginx.conf"
    prefix = "/etc/nginx/"            # nginx -p, when the install needs it
    reload_command = ["systemctl", "reload", "nginx"]
    port_map = { 443 = 8443 }         # config port -> where to reach it locally

    [apache]
    ctl = "apache2ctl"
    conf_dir = "/etc/apache2"

    [caddy]
    binary = "caddy"
    caddyfile = "/etc/caddy/Caddyfile"
    admin_address = "localhost:2019"
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from origincert.errors import ConfigError
from origincert.state.paths import StatePaths

WEBSERVERS = ("nginx", "apache", "caddy")


@dataclass(frozen=True)
class ServerSettings:
    """One web server's options: what the file says, then the command line."""

    kind: str
    options: dict[str, Any] = field(default_factory=dict)

    def path(self, key: str, default: str) -> Path:
        return Path(self.options.get(key) or default)

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self.options.get(key)
        return str(value) if value else default

    def command(self, key: str = "reload_command") -> tuple[str, ...] | None:
        value = self.options.get(key)
        if isinstance(value, str):
            value = value.split()
        return tuple(value) if value else None

    def port_map(self) -> dict[int, int]:
        try:
            return {int(k): int(v) for k, v in dict(self.options.get("port_map") or {}).items()}
        except (TypeError, ValueError) as err:
            raise ConfigError(f"{self.kind}.port_map must map port numbers to port numbers",
                              hint="e.g. port_map = { 443 = 8443 }") from err


@dataclass(frozen=True)
class Settings:
    paths: StatePaths
    webserver: str | None = None  # None: detect what runs on this machine
    api_base: str | None = None
    servers: dict[str, ServerSettings] = field(default_factory=dict)
    letsencrypt_dir: Path = Path("/etc/letsencrypt")
    acme_sh_home: Path = Path("/root/.acme.sh")

    @property
    def config_file(self) -> Path:
        return self.paths.config_dir / "origincert.toml"

    def server(self, kind: str) -> ServerSettings:
        return self.servers.get(kind, ServerSettings(kind))


def load(state_dir: Path | None = None, config_dir: Path | None = None,
         **overrides: Any) -> Settings:
    """Settings from the file, then the environment, then ``overrides``.

    Overrides named ``<server>_<key>`` (``nginx_conf``, ``caddy_caddyfile``)
    set that server's options; giving one also names the web server, unless
    ``webserver`` says otherwise.
    """
    paths = StatePaths(state_dir=state_dir, config_dir=config_dir)
    data = read_file(paths.config_dir / "origincert.toml")
    servers = {kind: _server(kind, data.get(kind, {}), overrides) for kind in WEBSERVERS}

    webserver = overrides.get("webserver") or _implied(overrides) or data.get("webserver")
    if webserver is not None and webserver not in WEBSERVERS:
        raise ConfigError(f"unknown web server {webserver!r}",
                          hint=f"choose one of: {', '.join(WEBSERVERS)}")
    settings = Settings(
        paths=paths, webserver=webserver, api_base=data.get("api_base"), servers=servers,
        letsencrypt_dir=Path(overrides.get("letsencrypt_dir") or data.get("letsencrypt_dir")
                             or "/etc/letsencrypt"),
        acme_sh_home=Path(overrides.get("acme_sh_home") or data.get("acme_sh_home")
                          or "/root/.acme.sh"),
    )
    base = overrides.get("api_base") or os.environ.get("CLOUDFLARE_BASE_URL")
    return replace(settings, api_base=base) if base else settings


def _server(kind: str, section: dict[str, Any], overrides: dict[str, Any]) -> ServerSettings:
    given: dict[str, Any] = {}
    for prefix in ("any_", f"{kind}_"):  # "any_": whichever server is in use
        given.update({k[len(prefix):]: v for k, v in overrides.items()
                      if k.startswith(prefix) and v is not None})
    return ServerSettings(kind, {**section, **given})


def _implied(overrides: dict[str, Any]) -> str | None:
    named = {kind for kind in WEBSERVERS for key, value in overrides.items()
             if key.startswith(f"{kind}_") and value is not None}
    if len(named) > 1:
        raise ConfigError(f"options for several web servers given ({', '.join(sorted(named))})",
                          hint="choose one with --webserver")
    return named.pop() if named else None


def read_file(path: Path) -> dict[str, Any]:
    """``origincert.toml`` as data; a missing file is empty, a broken one one clear line."""
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: {err}", hint="fix the file or remove it") from err
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err.strerror}") from err
