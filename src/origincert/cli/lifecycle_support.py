"""What the lifecycle commands (certs, renew, revoke, timer) share in the CLI."""

from __future__ import annotations

from typing import TYPE_CHECKING

from origincert.cli.context import AppContext

if TYPE_CHECKING:
    from origincert.lifecycle.config import LifecycleSettings
    from origincert.webserver.base import WebServer


def lifecycle_settings(app_ctx: AppContext) -> LifecycleSettings:
    from origincert.lifecycle import config

    return config.load(app_ctx.settings.config_file)


def open_server_or_none(app_ctx: AppContext) -> tuple[WebServer | None, str | None]:
    """The web server, or None and why (``certs`` still shows the state and Cloudflare)."""
    from origincert.errors import OriginCertError
    from origincert.webserver.factory import open_webserver

    try:
        return open_webserver(app_ctx.settings), None
    except OriginCertError as err:
        return None, f"web server not read: {err.one_line()}"
