"""``origincert account``: connect Cloudflare accounts and list them."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from origincert.cli.context import AppContext, emit_json
from origincert.errors import UsageError

app = typer.Typer(help="Connect Cloudflare accounts.", no_args_is_help=True)


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A name for this account, e.g. 'agency'.")],
    token_file: Annotated[Optional[Path], typer.Option(
        help="Read a scoped API token from this file.")] = None,
    token_stdin: Annotated[bool, typer.Option(help="Read an API token from stdin.")] = False,
    email: Annotated[Optional[str], typer.Option(
        help="The account's email, with a Global API Key (or CLOUDFLARE_EMAIL).")] = None,
    key_file: Annotated[Optional[Path], typer.Option(
        help="Read a Global API Key from this file.")] = None,
    key_stdin: Annotated[bool, typer.Option(help="Read a Global API Key from stdin.")] = False,
    api_base: Annotated[Optional[str], typer.Option(
        help="API base URL (or CLOUDFLARE_BASE_URL), e.g. the sandbox's.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Connect an account with a scoped API token or a Global API Key and email.

    Secrets are read from a file, stdin or the environment, never from the
    command line, and stored encrypted.
    """
    from origincert.accounts import connect

    app_ctx: AppContext = ctx.obj
    token = _secret_input(token_file, token_stdin)
    key = _secret_input(key_file, key_stdin)
    if not token and not key:
        # Nothing given explicitly: the environment, a token before a key.
        token = os.environ.get("CLOUDFLARE_API_TOKEN")
        key = None if token else os.environ.get("CLOUDFLARE_API_KEY")
    credential = connect.credential_from_inputs(
        token=token, key=key, email=email or os.environ.get("CLOUDFLARE_EMAIL"))

    from origincert.accounts import report

    base = api_base or app_ctx.settings.api_base
    connected = connect.add(app_ctx.store, name, credential, base)
    fingerprint = connected.account.secret_fingerprint
    if json_out:
        emit_json({**connected.report, "api_base": base, "fingerprint": fingerprint})
        return
    print(f"connected account {name}")
    for line in report.render(connected.report, fingerprint=fingerprint):
        print(line)


@app.command("list")
def list_accounts(
    ctx: typer.Context,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List connected accounts (never their secrets)."""
    accounts = ctx.obj.store.list_accounts()
    rows = [{"name": a.name, "kind": a.kind, "email": a.email, "api_base": a.api_base,
             "fingerprint": a.secret_fingerprint, "created_at": a.created_at}
            for a in accounts]
    if json_out:
        emit_json(rows)
        return
    if not rows:
        print("no accounts connected; add one with: origincert account add NAME --token-file F")
    for row in rows:
        base = f" via {row['api_base']}" if row["api_base"] else ""
        print(f"{row['name']}\t{row['kind']}\t{row['fingerprint']}{base}")


@app.command("show")
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument()],
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show an account: kind, email, API base, the secret's fingerprint, its last report."""
    from origincert.accounts import report

    account = ctx.obj.store.get_account(name)
    row = {"name": account.name, "kind": account.kind, "email": account.email,
           "api_base": account.api_base, "fingerprint": account.secret_fingerprint,
           "created_at": account.created_at, "verified_at": account.verified_at,
           "report": account.report_json}
    if json_out:
        emit_json(row)
        return
    kind = "API token" if account.kind == "token" else "Global API Key"
    print(f"account {account.name}")
    print(f"  kind: {kind}")
    if account.email:
        print(f"  email: {account.email}")
    print(f"  api base: {account.api_base or 'https://api.cloudflare.com/client/v4'}")
    print(f"  secret fingerprint: {account.secret_fingerprint} (the secret is never shown)")
    print(f"  added: {account.created_at:%Y-%m-%d %H:%M} UTC")
    if account.report_json:
        print(f"last report ({account.verified_at:%Y-%m-%d %H:%M} UTC):")
        for line in report.render(account.report_json):
            print(line)
    else:
        print(f"no report yet; run: origincert account verify {account.name}")


@app.command("verify")
def verify(
    ctx: typer.Context,
    name: Annotated[Optional[str], typer.Argument(help="Account (default: every one).")] = None,
    zone: Annotated[Optional[list[str]], typer.Option(
        help="Only this zone (repeatable).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Ask Cloudflare what each account may do, zone by zone, and what is missing.

    Exits 1 when an account no longer authenticates.
    """
    from origincert.accounts import connect, report

    store = ctx.obj.store
    names = [name] if name else [a.name for a in store.list_accounts()]
    if not names:
        raise UsageError("no accounts connected",
                         hint="add one with: origincert account add NAME --token-file FILE")
    reports = [connect.verify(store, each, only_zones=zone) for each in names]
    if json_out:
        emit_json({"accounts": reports})
    else:
        for index, found in enumerate(reports):
            if index:
                print()
            fingerprint = store.get_account(found["name"]).secret_fingerprint
            for line in report.render(found, fingerprint=fingerprint):
                print(line)
    if any(found["status"] != report.ACTIVE for found in reports):
        raise typer.Exit(1)


@app.command("remove")
def remove(ctx: typer.Context, name: Annotated[str, typer.Argument()]) -> None:
    """Forget an account and its stored credential."""
    from origincert.accounts import connect

    connect.remove(ctx.obj.store, name)
    print(f"removed account {name}")


def _secret_input(path: Path | None, stdin: bool) -> str | None:
    if path is not None and stdin:
        raise UsageError("read the secret from a file or from stdin, not both")
    if path is not None:
        try:
            text = path.read_text()
        except OSError as err:
            raise UsageError(f"cannot read {path}: {err.strerror}") from err
        if not text.strip():
            raise UsageError(f"{path} is empty", hint="put the credential in it, on one line")
        return text
    if stdin:
        return sys.stdin.read()
    return None
