"""``origincert issue``: Generate & Install, and ``recover``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from origincert.cli.context import AppContext, emit_json


def issue(
    ctx: typer.Context,
    hostnames: Annotated[Optional[list[str]], typer.Argument(
        help="Hostnames for the certificate.")] = None,
    site: Annotated[Optional[list[str]], typer.Option(
        help="Issue for every name of this site (see `origincert sites`); repeat it for "
             "several sites at once.")] = None,
    all_sites: Annotated[bool, typer.Option(
        "--all", help="Every site of the server whose zone a connected account reaches.")
    ] = False,
    rate_limit: Annotated[str, typer.Option(
        help="The API's budget for a batch, REQUESTS/SECONDS, shared by every account "
             "(a user's tokens count together).")] = "1200/300",
    concurrency: Annotated[int, typer.Option(
        min=1, max=256, help="Requests in flight at once in a batch.")] = 32,
    account: Annotated[Optional[str], typer.Option(
        help="Connected account to use (default: the one whose credential reaches the zone).")
    ] = None,
    key_type: Annotated[str, typer.Option(help="ecdsa (P-256) or rsa (2048).")] = "ecdsa",
    validity: Annotated[int, typer.Option(
        help="Days: 7, 30, 90, 365, 730, 1095 or 5475.")] = 5475,
    redirect: Annotated[bool, typer.Option(help="Redirect HTTP to HTTPS at the origin.")] = False,
    replace: Annotated[bool, typer.Option(
        help="Replace a certificate the site already serves (pasted, Let's Encrypt).")] = False,
    reissue: Annotated[bool, typer.Option(
        help="Issue a new certificate even if the current one is in place.")] = False,
    zone: Annotated[bool, typer.Option(
        help="Afterwards, bring the zone to Full (strict), proxied records and HTTPS "
             "settings (--no-zone to skip).")] = True,
    strict_hostname: Annotated[bool, typer.Option(
        help="If other names block Full (strict) zone-wide, set it for these names only "
             "(a configuration rule).")] = False,
    force: Annotated[bool, typer.Option(
        help="Switch the zone to Full (strict) even if other names would fail.")] = False,
    ca: Annotated[str, typer.Option(
        help="origin (Cloudflare Origin CA), letsencrypt (ACME DNS-01, publicly trusted, for "
             "names reached directly) or auto (by whether the names are proxied).")] = "origin",
    acme_directory: Annotated[str, typer.Option(
        help="ACME directory: letsencrypt, letsencrypt-staging or a URL.")] = "letsencrypt",
    acme_ca_bundle: Annotated[Optional[str], typer.Option(
        help="PEM file of the ACME server's TLS CA, when it is not publicly trusted.")] = None,
    acme_email: Annotated[Optional[str], typer.Option(help="Contact for the ACME account.")
                          ] = None,
    acme_dns: Annotated[Optional[str], typer.Option(
        help="HOST:PORT of a DNS server to check the TXT records at (default: the zone's "
             "nameservers).")] = None,
    dry_run: Annotated[bool, typer.Option(
        help="Print the plan and the config diff; change nothing.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable result.")] = False,
) -> None:
    """Issue an Origin CA certificate and install it, verified, or change nothing."""
    from origincert.provision.issue import IssueOptions, Issuer
    from origincert.webserver.factory import open_webserver

    app_ctx: AppContext = ctx.obj
    server = open_webserver(app_ctx.settings)
    progress = (lambda line: None) if json_out else (lambda line: print(f"  {line}"))
    settings = app_ctx.settings
    issuer = Issuer(app_ctx.store, server, progress=progress, step_hook=_fault_hook(),
                    letsencrypt_dir=settings.letsencrypt_dir, acme_sh_home=settings.acme_sh_home)
    options = IssueOptions(account=account, key_type=key_type, validity_days=validity,
                           redirect=redirect, replace=replace, dry_run=dry_run,
                           reissue=reissue, zone=zone, force=force,
                           strict_hostname=strict_hostname, ca=_ca(ca),
                           acme_directory=acme_directory, acme_ca_bundle=acme_ca_bundle,
                           acme_email=acme_email, acme_dns=_host_port(acme_dns))
    if all_sites or len(site or []) > 1:
        if hostnames:
            from origincert.errors import UsageError

            raise UsageError("name hostnames, or sites with --site/--all, not both")
        from origincert.cli.batch import run_batch

        raise typer.Exit(run_batch(app_ctx, server, site or [], options, rate_limit,
                                   concurrency, json_out))
    result = issuer.issue(_names(server, hostnames, (site or [None])[0]), options)

    if json_out:
        emit_json(result.to_json())
        return
    _show(result)


def _ca(choice: str) -> str:
    from origincert.errors import UsageError
    from origincert.provision.authority import CHOICES

    if choice not in CHOICES:
        raise UsageError(f"--ca {choice} is not known", hint=f"choose {', '.join(CHOICES)}")
    return choice


def _host_port(text: str | None) -> tuple[str, int] | None:
    from origincert.errors import UsageError

    if not text:
        return None
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--acme-dns {text} is not HOST:PORT")
    return host.strip("[]"), int(port)


def _names(server, hostnames: list[str] | None, site: str | None) -> list[str]:  # type: ignore
    from origincert.errors import UsageError
    from origincert.provision.resolve import names_of_site

    if site and hostnames:
        raise UsageError("name hostnames or --site, not both")
    if site:
        return names_of_site(server, site)
    if not hostnames:
        raise UsageError("name at least one hostname, or --site NAME",
                         hint="see the sites with: origincert sites")
    return hostnames


def recover(ctx: typer.Context) -> None:
    """Undo any change an interrupted run left half-done."""
    from origincert.provision.lock import server_lock
    from origincert.provision.transaction import recover as undo
    from origincert.state.certstore import CertStore
    from origincert.webserver.factory import open_webserver

    app_ctx: AppContext = ctx.obj
    server = open_webserver(app_ctx.settings)
    with server_lock(app_ctx.settings.paths.lock_dir, server.kind, on_wait=print):
        done = undo(server, app_ctx.store, CertStore(app_ctx.settings.paths))
    print(f"recovered {len(done)} interrupted run(s)" if done else "nothing to recover")


def _show(result) -> None:  # type: ignore[no-untyped-def]
    if result.status == "planned":
        print(f"plan for {', '.join(result.hostnames)} (dry run, nothing changed):")
        for path in result.config_files:
            print(f"  would change {path}")
        for note in result.notes:
            print(f"  note: {note}")
        print(result.diff, end="")
        return
    cert = result.certificate
    if result.status == "unchanged":
        print(f"certificate in place: {', '.join(result.hostnames)} already served with "
              f"certificate {cert.get('cloudflare_id')}")
    else:
        print(f"installed and verified: {', '.join(result.hostnames)}")
        print(f"  certificate {cert.get('cloudflare_id')} ({cert.get('key_type')}), "
              f"valid until {cert.get('not_after')}")
    for note in result.notes:
        print(f"  note: {note}")
    for zone in result.zone_reports:
        _show_zone(zone)


def _show_zone(zone: dict) -> None:  # type: ignore[type-arg]
    mode = zone["ssl_after"]
    changed = "" if zone["ssl_before"] == mode else f" (was {zone['ssl_before']})"
    print(f"  zone {zone['zone']}: SSL mode {mode}{changed}")
    for change in zone["changes"]:
        print(f"    changed {change}")
    if zone["blocked_by"] and zone["ssl_before"] == zone["ssl_after"]:
        print("    Full (strict) not set zone-wide; these proxied names would fail it:")
        for blocker in zone["blocked_by"]:
            print(f"      {blocker}")
        print("    fix them, or rerun with --strict-hostname (strict for these names only) "
              "or --force")
    for line in zone["not_proxiable"]:
        print(f"    {line}")


def _fault_hook():  # type: ignore[no-untyped-def]
    """A test seam: ORIGINCERT_TEST_FAULT=STEP makes the run die at that step.

    ``kill:STEP`` sends SIGKILL to this process (a power cut); ``fail:STEP``
    raises an error there. Used by the crash and rollback tests.
    """
    import os

    spec = os.environ.get("ORIGINCERT_TEST_FAULT")
    if not spec or ":" not in spec:
        return None
    action, _, target = spec.partition(":")

    def hook(step: str) -> None:
        if step != target:
            return
        if action == "kill":
            import signal

            os.kill(os.getpid(), signal.SIGKILL)
        from origincert.errors import OriginCertError

        raise OriginCertError(f"injected failure at step {step}")

    return hook
