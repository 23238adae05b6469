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

    base = api_base or app_ctx.settings.api_base
    connected = connect.add(app_ctx.store, name, credential, base)
    if json_out:
        emit_json({"name": name, "kind": credential.kind, "token_status":
                   connected.token_status, "zones": connected.zones, "api_base": base,
                   "fingerprint": connected.account.secret_fingerprint})
        return
    kind = "API token" if credential.kind == "token" else "Global API Key"
    print(f"connected account {name} ({kind}, fingerprint "
          f"{connected.account.secret_fingerprint})")
    print(f"zones it reaches: {', '.join(connected.zones) or 'none'}")


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
            return path.read_text()
        except OSError as err:
            raise UsageError(f"cannot read {path}: {err.strerror}") from err
    if stdin:
        return sys.stdin.read()
    return None
