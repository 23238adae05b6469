"""``origincert doctor``: find and explain what is wrong, and fix what can be undone."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from origincert.cli.context import AppContext, emit_json


def doctor(
    ctx: typer.Context,
    hostnames: Annotated[Optional[list[str]], typer.Argument(
        help="Hostnames to check (default: every site of the web server).")] = None,
    site: Annotated[Optional[str], typer.Option(help="Check every name of one site.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Check every site (the default).")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable report.")] = False,
    fix: Annotated[bool, typer.Option(
        help="Apply the fixes origincert can undo, then check again.")] = False,
    letsencrypt_dir: Annotated[Path, typer.Option(
        help="certbot's folder (its renewal/ holds the renewal files).")] = Path(
            "/etc/letsencrypt"),
    acme_sh_home: Annotated[Path, typer.Option(help="acme.sh's home folder.")] = Path(
        "/root/.acme.sh"),
    wp_cli: Annotated[str, typer.Option(help="The WP-CLI program.")] = "wp",
) -> None:
    """Check each hostname from both sides (Cloudflare and the origin); exit 1 if anything
    is wrong (an error or a warning), 0 when only notes remain."""
    from origincert.doctor.facts import Options
    from origincert.doctor.run import Doctor, Selection
    from origincert.errors import ConfigError, UsageError

    chosen = [h for h in hostnames or []]
    if sum(bool(x) for x in (chosen, site, all_)) > 1:
        raise UsageError("give hostnames, --site or --all, not several")

    app_ctx: AppContext = ctx.obj
    try:
        from origincert.webserver.factory import open_webserver

        server = open_webserver(app_ctx.settings)
    except ConfigError:
        if not chosen:
            raise
        server = None  # hostnames alone: only the Cloudflare side and the origin probes

    options = Options(letsencrypt_dir=letsencrypt_dir, acme_sh_home=acme_sh_home,
                      wp_cli=wp_cli)
    progress = (lambda line: None) if json_out else (lambda line: print(f"  {line}"))
    runner = Doctor(app_ctx.store, server, options, progress=progress)
    selection = Selection(tuple(chosen), site, all_)
    report = runner.diagnose(selection)
    if fix:
        report = runner.fix(selection, report)

    if json_out:
        emit_json(report.to_json())
    else:
        from origincert.doctor.render import show

        show(report)
    raise typer.Exit(report.exit_status)
