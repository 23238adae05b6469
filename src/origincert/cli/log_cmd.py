"""``origincert log``: the audit log of every change made at Cloudflare."""

from __future__ import annotations

from typing import Annotated

import typer

from origincert.cli.context import emit_json


def log(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="How many entries, newest first.")] = 50,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show the calls origincert made to Cloudflare that change (or probe) something.

    Actions starting with ``probe.`` are permission probes: writes that cannot
    change anything (an invalid certificate request, a value re-submitted as it is).
    """
    from origincert.errors import UsageError

    if limit < 1:
        raise UsageError("--limit must be at least 1")
    entries = ctx.obj.store.audit_entries(limit=limit)
    rows = [{"id": e.id, "at": e.at, "actor": e.actor, "action": e.action, "zone": e.zone,
             "target": e.target, "result": e.result, "ray_id": e.ray_id, "detail": e.detail,
             "probe": e.action.startswith("probe.")}
            for e in entries]
    if json_out:
        emit_json(rows)
        return
    if not rows:
        print("no changes made at Cloudflare yet")
    for row in rows:
        ray = f" ray {row['ray_id']}" if row["ray_id"] else ""
        print(f"{row['at']:%Y-%m-%d %H:%M:%S} {row['actor']} {row['action']} "
              f"zone={row['zone'] or '-'} {row['result']}{ray} "
              f"({row['target'] or ''}; {row['detail'] or ''})")
