"""Settings: the configuration file, overridden by the command line.

The file is ``<config dir>/origincert.toml``. Every key is optional; the
defaults describe a standard Debian install::

    webserver = "nginx"
    api_base = "https://api.cloudflare.com/client/v4"

    [nginx]
    binary = "/usr/sbin/nginx"
    conf = "/etc/nginx/nginx.conf"
    prefix = "/etc/nginx/"            # nginx -p, when the install needs it
    reload_command = ["systemctl", "reload", "nginx"]
    port_map = { 443 = 8443 }         # config port -> where to reach it locally
"""

from __future__ import annotations

import os
import shutil
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from origincert.errors import ConfigError
from origincert.state.paths import StatePaths


@dataclass(frozen=True)
class NginxSettings:
    binary: str = "/usr/sbin/nginx"
    conf: Path = Path("/etc/nginx/nginx.conf")
    prefix: Path | None = None
    reload_command: tuple[str, ...] | None = None
    port_map: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    paths: StatePaths
    webserver: str = "nginx"
    api_base: str | None = None
    nginx: NginxSettings = field(default_factory=NginxSettings)

    @property
    def config_file(self) -> Path:
        return self.paths.config_dir / "origincert.toml"


def load(state_dir: Path | None = None, config_dir: Path | None = None,
         **overrides: Any) -> Settings:
    """Settings from the file, then the environment, then ``overrides``."""
    paths = StatePaths(state_dir=state_dir, config_dir=config_dir)
    data = _read_file(paths.config_dir / "origincert.toml")
    nginx = _nginx_settings(data.get("nginx", {}), overrides)

    settings = Settings(
        paths=paths,
        webserver=overrides.get("webserver") or data.get("webserver", "nginx"),
        api_base=data.get("api_base"),
        nginx=nginx,
    )
    base = overrides.get("api_base") or os.environ.get("CLOUDFLARE_BASE_URL")
    return replace(settings, api_base=base) if base else settings


def _nginx_settings(section: dict[str, Any], overrides: dict[str, Any]) -> NginxSettings:
    merged = {**section, **{k[len("nginx_"):]: v for k, v in overrides.items()
                            if k.startswith("nginx_") and v is not None}}
    binary = str(merged.get("binary") or _default_nginx())
    prefix = merged.get("prefix")
    reload_command = merged.get("reload_command")
    if isinstance(reload_command, str):
        reload_command = reload_command.split()
    try:
        port_map = {int(k): int(v) for k, v in dict(merged.get("port_map") or {}).items()}
    except (TypeError, ValueError) as err:
        raise ConfigError("nginx.port_map must map port numbers to port numbers") from err
    return NginxSettings(
        binary=binary,
        conf=Path(merged.get("conf") or "/etc/nginx/nginx.conf"),
        prefix=Path(prefix) if prefix else None,
        reload_command=tuple(reload_command) if reload_command else None,
        port_map=port_map,
    )


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: {err}", hint="fix the file or remove it") from err
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err.strerror}") from err


def _default_nginx() -> str:
    return shutil.which("nginx") or "/usr/sbin/nginx"
