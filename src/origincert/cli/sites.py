"""``origincert sites``: every site the web server defines, with zones and certificates."""

from __future__ import annotations

from typing import Annotated

import typer

from origincert.cli.context import AppContext, emit_json


def sites(
    ctx: typer.Context,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the sites, their names, zones, accounts and current certificates."""
    from origincert.inventory.sites import list_sites
    from origincert.webserver.factory import open_webserver

    app_ctx: AppContext = ctx.obj
    found = list_sites(open_webserver(app_ctx.settings), app_ctx.store)
    if json_out:
        emit_json([site.to_json() for site in found])
        return
    if not found:
        print("no sites with a hostname in the web server configuration")
    for site in found:
        https = "HTTPS" if site.https else "HTTP only"
        managed = ", origincert" if site.managed else ""
        print(f"{site.name}  ({site.webserver}, {https}{managed})  {site.source}:{site.line}")
        for name in site.hostnames:
            zone = f"zone {name.zone} via {name.account}" if name.zone else "no connected zone"
            print(f"    {name.hostname}  {zone}")
        if site.certificate and "sans" in site.certificate:
            kind = "Origin CA" if site.certificate.get("origin_ca") else "other CA"
            print(f"    serves {kind} certificate for {', '.join(site.certificate['sans'])}, "
                  f"expires {site.certificate['not_after']:%Y-%m-%d}")
        for problem in site.problems:
            print(f"    problem: {problem}")
