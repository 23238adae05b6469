"""One run at a time per web server: CLI, dashboard and timer alike.

The lock is an ``flock`` on a file in the state folder, so it disappears with
the process that held it (a SIGKILL cannot leave it stuck). The holder writes
its pid into the file so the one that waits can say who it waits for.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from origincert.errors import LockedError


@contextlib.contextmanager
def server_lock(lock_dir: Path, name: str, *, wait: float = 30.0) -> Iterator[None]:
    """Hold the lock for ``name``; wait up to ``wait`` seconds, then give up."""
    lock_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = lock_dir / f"{name}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        _acquire(fd, path, name, wait)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # closing releases the flock


def _acquire(fd: int, path: Path, name: str, wait: float) -> None:
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                holder = path.read_text().strip() or "unknown"
                raise LockedError(
                    f"another origincert run (pid {holder}) is changing the {name} "
                    f"configuration; gave up after waiting {wait:.0f}s",
                    hint="try again when it has finished",
                ) from None
            time.sleep(0.1)
