"""``origincert uninstall``: a site back to exactly what it was before origincert."""

from __future__ import annotations

from typing import Annotated

import typer

from origincert.cli.context import AppContext, emit_json


def uninstall(
    ctx: typer.Context,
    site: Annotated[str, typer.Argument(
        help="The site: its name or any of its hostnames (see `origincert sites`).")],
    dry_run: Annotated[bool, typer.Option(
        help="Print the plan and the config diff; change nothing.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable result.")] = False,
    wait: Annotated[float | None, typer.Option(
        min=0, help="Seconds to wait while another run changes the web server "
                    "(default 30, or $ORIGINCERT_LOCK_WAIT).")] = None,
) -> None:
    """Take origincert out of a site: its configuration byte for byte as before, verified."""
    from origincert.provision.uninstall import Uninstaller
    from origincert.webserver.factory import open_webserver

    app_ctx: AppContext = ctx.obj
    settings = app_ctx.settings
    progress = (lambda line: None) if json_out else (lambda line: print(f"  {line}"))
    uninstaller = Uninstaller(app_ctx.store, open_webserver(settings), progress=progress,
                              lock_wait=wait, letsencrypt_dir=settings.letsencrypt_dir,
                              acme_sh_home=settings.acme_sh_home)
    result = uninstaller.uninstall(site, dry_run=dry_run)

    if json_out:
        emit_json(result.to_json())
        return
    _show(result)


def _show(result) -> None:  # type: ignore[no-untyped-def]
    if result.status == "planned":
        print(f"plan to uninstall {result.site} (dry run, nothing changed):")
        for path in result.config_files:
            print(f"  would change {path}")
    else:
        print(f"uninstalled: {result.site} ({', '.join(result.hostnames)}) is configured as "
              "before origincert")
    for note in result.notes:
        print(f"  note: {note}")
    if result.status == "planned":
        print(result.diff, end="")
