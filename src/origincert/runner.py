"""The one runner for external programs.

It keeps stdout and stderr, never raises on a non-zero exit by itself (the
caller decides what a failure means), and never receives a secret: secrets go
through files or standard input, never through argv.
"""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def output(self) -> str:
        """stderr and stdout together, as a person would have seen them."""
        return "\n".join(part for part in (self.stderr.strip(), self.stdout.strip()) if part)


def run(
    argv: Sequence[str],
    *,
    timeout: float = 60.0,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
) -> Completed:
    """Run a program to completion and return what it said."""
    started = time.monotonic()
    try:
        proc = subprocess.run(
            list(argv),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(env) if env is not None else None,
            check=False,
        )
    except FileNotFoundError:
        log.info("program missing", extra={"argv": list(argv)})
        return Completed(tuple(argv), 127, "", f"{argv[0]}: command not found")
    except subprocess.TimeoutExpired as err:
        log.info("program timed out", extra={"argv": list(argv), "timeout": timeout})
        out = err.stdout.decode() if isinstance(err.stdout, bytes) else (err.stdout or "")
        return Completed(tuple(argv), 124, out, f"{argv[0]}: timed out after {timeout:.0f}s")

    log.debug(
        "program ran",
        extra={"argv": list(argv), "returncode": proc.returncode,
               "seconds": round(time.monotonic() - started, 3)},
    )
    return Completed(tuple(argv), proc.returncode, proc.stdout, proc.stderr)
