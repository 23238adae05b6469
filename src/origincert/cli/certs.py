"""``origincert certs``: the certificates origincert installed."""

from __future__ import annotations

from typing import Annotated

import typer

from origincert.cli.context import AppContext, emit_json


def certs(
    ctx: typer.Context,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    all_: Annotated[bool, typer.Option("--all", help="Also superseded and unused ones.")] = False,
) -> None:
    """Installed certificates: hostnames (SANs), key type, expiry, files, Cloudflare id."""
    app_ctx: AppContext = ctx.obj
    store = app_ctx.store
    wanted = None if all_ else ["installed"]
    rows = []
    for cert in store.certificates(status=wanted):
        files = sorted({path for inst in store.installations(cert.id, active_only=True)
                        for path in inst.config_files})
        rows.append({
            "id": cert.id, "cloudflare_id": cert.cf_id, "lineage": cert.lineage,
            "hostnames": list(cert.hostnames), "key_type": cert.key_type,
            "not_after": cert.not_after, "status": cert.status, "config_files": files,
            "certificate_file": cert.cert_path,
        })
    if json_out:
        emit_json(rows)
        return
    if not rows:
        print("no certificates installed yet; run: origincert issue HOSTNAME")
    for row in rows:
        expiry = row["not_after"].strftime("%Y-%m-%d") if row["not_after"] else "-"
        print(f"{row['cloudflare_id']}  {', '.join(row['hostnames'])}  {row['key_type']}  "
              f"expires {expiry}  {row['status']}")
        for path in row["config_files"]:
            print(f"    used by {path}")
