"""``origincert renew``: replace what expires, what no longer covers a site, what was revoked."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from origincert.cli.context import AppContext, emit_json


def renew(
    ctx: typer.Context,
    days: Annotated[int | None, typer.Option(
        help="Renew what expires within this many days (default: renew_before_days in "
             "origincert.toml, else 30; a 7- or 30-day certificate at a third of its life).")
    ] = None,
    dry_run: Annotated[bool, typer.Option(
        help="Say what would be renewed and revoked; change nothing.")] = False,
    rotate_key: Annotated[bool, typer.Option(
        help="Renew every site now, each with a new key.")] = False,
    site: Annotated[str | None, typer.Option(
        help="Only this site (its name or any of its hostnames).")] = None,
    pre_hook: Annotated[str | None, typer.Option(
        help="Run with sh -c before a site's certificate changes (a failure skips the site).")
    ] = None,
    post_hook: Annotated[str | None, typer.Option(
        help="Run with sh -c after a site's renewal, whatever the outcome.")] = None,
    deploy_hook: Annotated[str | None, typer.Option(
        help="Run with sh -c after a new certificate is verified in service.")] = None,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="Print only failures and what changed (for timers).")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable report.")] = False,
) -> None:
    """Renew certificates that need it, one site at a time; exit 1 if any failed.

    Hooks get RENEWED_LINEAGE, RENEWED_DOMAINS, ORIGINCERT_SITE, ORIGINCERT_HOSTNAMES,
    ORIGINCERT_CERT_PATH, ORIGINCERT_KEY_PATH and ORIGINCERT_CF_ID in their environment.
    """
    from origincert.cli.lifecycle_support import lifecycle_settings
    from origincert.lifecycle.clock import from_env
    from origincert.lifecycle.notify import Notifier
    from origincert.lifecycle.renew import Renewer, RenewOptions
    from origincert.provision.issue import Issuer
    from origincert.webserver.factory import open_webserver

    app_ctx: AppContext = ctx.obj
    settings, config, store = app_ctx.settings, lifecycle_settings(app_ctx), app_ctx.store
    server = open_webserver(settings)
    clock = from_env()

    def issuer(progress):  # type: ignore[no-untyped-def]
        return Issuer(store, server, progress=progress, letsencrypt_dir=settings.letsencrypt_dir,
                      acme_sh_home=settings.acme_sh_home)

    lines: list[str] = []
    show = (lambda line: lines.append(line)) if (quiet or json_out) else print
    renewer = Renewer(store, server, issuer, clock=clock, progress=show,
                      notifier=Notifier(store, config.webhook_url, clock=clock))
    options = RenewOptions(
        days=config.renew_before_days if days is None else days, dry_run=dry_run,
        rotate_key=rotate_key, site=site, revoke_after_days=config.revoke_after_days,
        expiring_days=config.expiring_days,
        hooks=config.hooks.merged(pre=pre_hook, post=post_hook, deploy=deploy_hook))
    report = renewer.run(options)

    if json_out:
        emit_json(report.to_json())
    else:
        _show(report, quiet, lines)
    if report.failed:
        raise typer.Exit(1)


def _show(report, quiet: bool, lines: list[str]) -> None:  # type: ignore[no-untyped-def]
    from origincert.lifecycle.renew import CURRENT, FAILED, PLANNED

    for outcome in report.sites:
        if outcome.result == FAILED:
            print(f"origincert: renew {outcome.site} failed: {outcome.error}", file=sys.stderr)
        elif outcome.result == CURRENT and not quiet:
            when = f"{outcome.renew_after:%Y-%m-%d %H:%M} UTC" if outcome.renew_after else "?"
            print(f"{outcome.site}: current, renewal due {when}")
        elif outcome.result == PLANNED and quiet:
            print(f"{outcome.site}: would renew ({'; '.join(outcome.reasons)})")
    for revocation in report.revocations:
        result = revocation.get("result")
        if result == "waiting" and quiet:
            continue
        reason = f" ({revocation['reason']})" if revocation.get("reason") else ""
        print(f"replaced certificate {revocation['cloudflare_id']}: {result}{reason}")
    for note in report.notes:
        if not quiet:
            print(f"note: {note}")
    changed = any(o.result != CURRENT for o in report.sites)
    if not quiet or changed or report.failed:
        print(f"summary: {report.summary()}")
