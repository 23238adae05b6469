"""The console script: answers ``--version`` before importing anything heavy.

Everything else goes to the Typer application in ``main``.
"""

from __future__ import annotations

import sys


def run() -> None:
    if sys.argv[1:] == ["--version"]:
        from origincert import __version__

        print(f"origincert {__version__}")
        return
    from origincert.cli.main import run as run_app

    run_app()
