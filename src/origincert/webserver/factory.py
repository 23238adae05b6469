"""The web server of this machine, as the settings describe it."""

from __future__ import annotations

from origincert.errors import ConfigError
from origincert.settings import Settings
from origincert.webserver.base import WebServer

SUPPORTED = ("nginx",)


def open_webserver(settings: Settings) -> WebServer:
    kind = settings.webserver
    if kind == "nginx":
        from origincert.webserver.nginx.server import Nginx

        nginx = settings.nginx
        return Nginx(binary=nginx.binary, conf=nginx.conf, prefix=nginx.prefix,
                     reload_command=nginx.reload_command,
                     include_dir=settings.paths.nginx_include_dir, port_map=nginx.port_map)
    raise ConfigError(f"web server {kind!r} is not supported yet",
                      hint=f"choose one of: {', '.join(SUPPORTED)}")
