"""``origincert revoke CERT``: revoke an Origin CA certificate at Cloudflare."""

from __future__ import annotations

from typing import Annotated

import typer

from origincert.cli.context import AppContext, emit_json


def revoke(
    ctx: typer.Context,
    cert: Annotated[str, typer.Argument(
        help="The certificate: its local id (#N in `origincert certs`) or Cloudflare id.")],
    force: Annotated[bool, typer.Option(
        help="Revoke even if a site serves it (visitors then get 526 under Full (strict)).")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable result.")] = False,
) -> None:
    """Revoke a certificate; one a site still serves only with --force."""
    from origincert.cli.lifecycle_support import lifecycle_settings, open_server_or_none
    from origincert.errors import OriginCertError
    from origincert.inventory.certificates import build
    from origincert.lifecycle import revoke as revocation
    from origincert.lifecycle.clock import from_env

    app_ctx: AppContext = ctx.obj
    config = lifecycle_settings(app_ctx)
    server, problem = open_server_or_none(app_ctx)
    if server is None and not force:
        raise OriginCertError(f"cannot tell whether the certificate is served ({problem})",
                              hint="name the web server (--webserver), or pass --force")
    clock = from_env()
    found = build(app_ctx.store, server, clock=clock, expiring_days=config.expiring_days)
    entry = revocation.find(found, cert)
    done = revocation.revoke(app_ctx.store, entry, force=force, clock=clock)
    if json_out:
        emit_json(done.to_json())
        return
    local = f" (#{done.local_id})" if done.local_id is not None else ""
    print(f"revoked certificate {done.cloudflare_id}{local} for {', '.join(done.hostnames)}"
          f"{' at ' + done.revoked_at if done.revoked_at else ''}")
    if entry.served:
        print("warning: it is still served: visitors get 526 under Full (strict) until the "
              "site serves another certificate; run: origincert renew")
