"""``origincert demo``: the whole job on the sandbox, start to verified finish."""

from __future__ import annotations

import typer


def demo(ctx: typer.Context) -> None:
    """Run Generate & Install against the sandbox and a private nginx, then clean up."""
    from origincert.demo.run import run_demo

    raise typer.Exit(run_demo())
