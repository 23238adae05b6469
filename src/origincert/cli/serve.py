"""``origincert serve``: the dashboard and its REST API."""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path
from typing import Annotated

import typer

from origincert.cli.context import AppContext
from origincert.errors import UsageError


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(
        help="Address to listen on (loopback by default; anything else exposes the "
             "dashboard to the network).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    tls_cert: Annotated[Path | None, typer.Option(
        help="Serve HTTPS with this certificate (PEM, chain included).")] = None,
    tls_key: Annotated[Path | None, typer.Option(help="The key of --tls-cert.")] = None,
    secure_cookies: Annotated[bool, typer.Option(
        help="Mark cookies Secure even without --tls-cert (behind a TLS proxy).")] = False,
    create_token: Annotated[str | None, typer.Option(
        metavar="NAME", help="Create an API token for the REST API, print it once, "
                             "and exit.")] = None,
) -> None:
    """Serve the dashboard (Sites, SSL, Accounts, Certificates, Doctor, audit log) and the
    REST API under /api/v1."""
    app_ctx: AppContext = ctx.obj
    if create_token is not None:
        _create_token(app_ctx, create_token)
        return
    if (tls_cert is None) != (tls_key is None):
        raise UsageError("give --tls-cert and --tls-key together")

    import uvicorn

    from origincert.dashboard import DashboardConfig, create_app

    tls = tls_cert is not None
    config = DashboardConfig(app_ctx.settings, secure_cookies=secure_cookies, tls=tls)
    app = create_app(config)
    url = f"{'https' if tls else 'http'}://{_shown(host)}:{port}"
    warning = exposure_warning(host, tls)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    if not app.state.dashboard.users.has_admin():
        print(f"first-run setup: open {url}/setup and enter the setup code "
              f"{config.setup_code}")
    print(f"origincert dashboard on {url} (API: {url}/api/v1, Ctrl-C to stop)")
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False,
                server_header=False,
                ssl_certfile=str(tls_cert) if tls_cert else None,
                ssl_keyfile=str(tls_key) if tls_key else None)


def _create_token(app_ctx: AppContext, name: str) -> None:
    from origincert.dashboard.users import Users

    users = Users(app_ctx.settings.paths)
    try:
        value, _token = users.create_token(name)
    finally:
        users.close()
    print(f"API token {name} (shown once; it is stored hashed):")
    print(value)


def exposure_warning(host: str, tls: bool) -> str | None:
    """What to tell the user when the dashboard is reachable from the network in clear."""
    if tls or _loopback(host):
        return None
    return (f"the dashboard listens on {host} without TLS: passwords, sessions and pasted "
            "Cloudflare credentials would cross the network in clear; pass --tls-cert and "
            "--tls-key, or keep it on 127.0.0.1 behind a TLS proxy (with --secure-cookies)")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _shown(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
