"""One run at a time per web server: CLI, dashboard and timer alike.

The lock is an ``flock`` on a file in the state folder, so it disappears with
the process that held it (a SIGKILL cannot leave it stuck). The holder writes
its pid into the file so the one that waits can say who it waits for.

How long a run waits for the lock is ``wait`` seconds when the caller says,
else ``$ORIGINCERT_LOCK_WAIT``, else 30 seconds.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from origincert.errors import ConfigError, LockedError

log = logging.getLogger(__name__)

DEFAULT_WAIT = 30.0
WAIT_ENV = "ORIGINCERT_LOCK_WAIT"


@contextlib.contextmanager
def server_lock(lock_dir: Path, name: str, *, wait: float | None = None,
                on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the lock for ``name``; wait up to ``wait`` seconds, then give up.

    ``on_wait`` hears, once, that the lock is held by another run and who it is.
    """
    wait = lock_wait() if wait is None else wait
    lock_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = lock_dir / f"{name}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        _acquire(fd, path, name, wait, on_wait)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # closing releases the flock


def lock_wait() -> float:
    """Seconds to wait for the lock: ``$ORIGINCERT_LOCK_WAIT``, or 30."""
    raw = os.environ.get(WAIT_ENV, "").strip()
    if not raw:
        return DEFAULT_WAIT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise ConfigError(f"{WAIT_ENV}={raw!r} is not a number of seconds",
                          hint="set it to 0 or more, or unset it for the default of 30")
    return value


def _acquire(fd: int, path: Path, name: str, wait: float,
             on_wait: Callable[[str], None] | None) -> None:
    deadline = time.monotonic() + wait
    told = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            holder = _holder(path)
            if time.monotonic() >= deadline:
                raise LockedError(
                    f"another origincert run (pid {holder}) is changing the {name} "
                    f"configuration; gave up after waiting {wait:g}s",
                    hint="try again when it has finished",
                ) from None
            if not told:
                told = True
                log.info("lock busy name=%s holder=%s wait=%s", name, holder, wait)
                if on_wait is not None:
                    on_wait(f"another origincert run (pid {holder}) is changing the {name} "
                            f"configuration; waiting up to {wait:g}s for it to finish")
            time.sleep(0.1)


def _holder(path: Path) -> str:
    try:
        return path.read_text().strip() or "unknown"
    except OSError:
        return "unknown"
