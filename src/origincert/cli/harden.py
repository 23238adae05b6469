"""``origincert harden SITE``: lock the origin down behind Cloudflare, one part at a time."""

from __future__ import annotations

from typing import Annotated

import typer

from origincert.cli.context import AppContext, emit_json


def harden(
    ctx: typer.Context,
    site: Annotated[str, typer.Argument(help="The site (see `origincert sites`).")],
    real_ip: Annotated[bool, typer.Option(
        help="Restore visitors' addresses from CF-Connecting-IP, trusted from Cloudflare's "
             "ranges only.")] = False,
    allow_cloudflare_only: Annotated[bool, typer.Option(
        help="Answer requests from Cloudflare's ranges only (403 for anyone else).")] = False,
    catch_all: Annotated[bool, typer.Option(
        help="A TLS default server that refuses names this server does not host.")] = False,
    aop: Annotated[bool, typer.Option(
        help="Authenticated Origin Pulls: the zone sends Cloudflare's client certificate, "
             "then the origin requires it.")] = False,
    undo: Annotated[str | None, typer.Option(
        help="Take one part back out: real-ip, allow-cloudflare-only, catch-all or aop.")
    ] = None,
    extra_allow: Annotated[list[str] | None, typer.Option(
        help="A network trusted besides Cloudflare's (a local proxy in front of the server); "
             "repeatable.")] = None,
    account: Annotated[str | None, typer.Option(help="Connected account to use.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable result.")] = False,
) -> None:
    """Harden a site's origin; without a part, show what exposes it."""
    from origincert.harden.run import Hardener, HardenOptions
    from origincert.webserver.factory import open_webserver

    app_ctx: AppContext = ctx.obj
    chosen = [name for name, on in (("real-ip", real_ip),
                                    ("allow-cloudflare-only", allow_cloudflare_only),
                                    ("catch-all", catch_all), ("aop", aop)) if on]
    progress = (lambda line: None) if json_out else (lambda line: print(f"  {line}"))
    hardener = Hardener(app_ctx.store, open_webserver(app_ctx.settings), progress=progress)
    result = hardener.harden(site, HardenOptions(chosen, undo, tuple(extra_allow or ()),
                                                 account))
    if json_out:
        emit_json(result.to_json())
        return
    for part in result.done:
        print(f"hardened {result.site}: {part}")
    for note in result.notes:
        print(f"  note: {note}")
    print(f"exposure of {result.site}'s zone(s):")
    for finding in result.exposure:
        mark = "exposed" if finding["exposed"] else "ok"
        print(f"  [{mark}] {finding['name']}: {finding['detail']}")
