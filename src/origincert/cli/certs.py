"""``origincert certs``: every certificate, reconciled across the state, Cloudflare and servers.

``--json`` prints a list, one object per certificate (``Entry.to_json`` in
``origincert.inventory.certificates`` documents every key; keys are only ever
added). Rows come in a stable order: origincert's own by local id, then those
only Cloudflare lists, then files only a web server names.
"""

from __future__ import annotations

from typing import Annotated

import typer

from origincert.cli.context import AppContext, emit_json


def certs(
    ctx: typer.Context,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    all_: Annotated[bool, typer.Option(
        "--all", help="Also requests that never became a certificate.")] = False,
    expiring_days: Annotated[int | None, typer.Option(
        help="'Expiring soon' means within this many days (default: expiring_days in "
             "origincert.toml, else 30).")] = None,
    cloudflare: Annotated[bool, typer.Option(
        help="Ask Cloudflare for its list (--no-cloudflare: the state and servers only).")
    ] = True,
) -> None:
    """Every certificate: served, orphaned, revoked, expiring, superseded; SANs, key, expiry."""
    from origincert.cli.lifecycle_support import lifecycle_settings, open_server_or_none
    from origincert.inventory.certificates import build
    from origincert.lifecycle.clock import from_env

    app_ctx: AppContext = ctx.obj
    config = lifecycle_settings(app_ctx)
    server, problem = open_server_or_none(app_ctx)
    found = build(app_ctx.store, server, clock=from_env(),
                  expiring_days=config.expiring_days if expiring_days is None else expiring_days,
                  cloudflare=cloudflare)
    entries = [e for e in found.entries if all_ or e.state != "unused"]
    if json_out:
        emit_json([entry.to_json() for entry in entries])
        return
    for line in ([problem] if problem else []) + found.problems:
        print(f"note: {line}")
    if not entries:
        print("no certificates yet; run: origincert issue HOSTNAME")
    for entry in entries:
        _show(entry)


def _show(entry) -> None:  # type: ignore[no-untyped-def]
    expiry = f"{entry.not_after:%Y-%m-%d}" if entry.not_after else "-"
    flags = [word for word, on in (("EXPIRED", entry.expired),
                                   ("expiring soon", entry.expiring)) if on]
    ident = f"#{entry.id}" if entry.id is not None else "-"
    print(f"{entry.state:<19} {ident:<5} {entry.cloudflare_id or '-':<24} "
          f"{entry.key_type or '-':<6} expires {expiry}"
          f"{'  (' + ', '.join(flags) + ')' if flags else ''}")
    print(f"    {', '.join(entry.hostnames) or '(no names)'}"
          f"{'  [' + entry.ca + ']' if entry.ca != 'origin' else ''}")
    for use in entry.uses:
        print(f"    served by {use.webserver} site {use.site}: {', '.join(use.config_files)}")
    for note in entry.notes:
        print(f"    note: {note}")
