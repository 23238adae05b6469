"""The one place that writes files.

Every write goes through ``write_atomic``: a temporary file in the same
folder, created with its final mode, written, fsynced, renamed over the
target, and the folder fsynced, so that a crash leaves either the old file or
the new one, never half of either.

A batch writes thousands of files, and one fsync each costs more than the
rest of the work: it passes ``durable=False`` to each write and calls
``flush`` once, before anything relies on the files being on disk.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
from collections.abc import Iterable
from errno import ENOSYS
from pathlib import Path

from origincert.errors import StateError


def write_atomic(path: Path, data: bytes | str, *, mode: int | None = None,
                 durable: bool = True) -> None:
    """Replace ``path`` with ``data`` atomically.

    Without ``mode``, an existing file keeps its mode, owner and group (a
    user's config file must not change hands because we edited it); a new
    file gets 0644. Keys pass ``mode=0o600`` and never exist with a wider one.
    ``durable=False`` leaves the fsyncs to a later ``flush``.
    """
    path = Path(path)
    payload = data.encode() if isinstance(data, str) else data
    final_mode, owner = _mode_and_owner(path, mode)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")

    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, final_mode)
    except OSError as err:
        raise StateError(f"cannot write {path}: {err.strerror}") from err
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), final_mode)
            if owner is not None:
                with contextlib.suppress(PermissionError):
                    os.fchown(handle.fileno(), *owner)
            handle.write(payload)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    if durable:
        fsync_dir(path.parent)


def replace_symlink(link: Path, target: str | Path, *, durable: bool = True) -> None:
    """Point ``link`` at ``target`` atomically (make a new link, rename it over)."""
    link = Path(link)
    temp = link.with_name(f".{link.name}.{secrets.token_hex(4)}.lnk")
    os.symlink(target, temp)
    try:
        os.replace(temp, link)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    if durable:
        fsync_dir(link.parent)


def remove(path: Path) -> None:
    """Remove a file if it is there, and make the removal durable."""
    path = Path(path)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
        fsync_dir(path.parent)


def ensure_dir(path: Path, mode: int = 0o755) -> Path:
    """Create a folder (and parents) if missing; an existing one keeps its mode."""
    path = Path(path)
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, mode)
    return path


def flush(paths: Iterable[Path]) -> None:
    """Make every write so far durable on the filesystems of ``paths``: one syncfs each."""
    done: set[int] = set()
    for path in paths:
        try:
            device = os.stat(path).st_dev
        except FileNotFoundError:
            continue  # nothing was written there
        if device in done:
            continue
        done.add(device)
        fd = os.open(path, os.O_RDONLY)
        try:
            _syncfs(fd, path)
        finally:
            os.close(fd)


def _syncfs(fd: int, path: Path) -> None:
    try:
        failed = int(ctypes.CDLL(None, use_errno=True).syncfs(fd)) != 0
        errno = ctypes.get_errno() if failed else 0
    except (AttributeError, OSError):
        failed, errno = True, ENOSYS
    if not failed:
        return
    if errno == ENOSYS:
        os.sync()  # no syncfs here: flush every filesystem instead
        return
    raise StateError(f"could not make the writes under {path} durable: {os.strerror(errno)}",
                     hint="check the disk (dmesg, df), then run the command again")


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _mode_and_owner(path: Path, mode: int | None) -> tuple[int, tuple[int, int] | None]:
    try:
        info = path.stat()
    except FileNotFoundError:
        return (0o644 if mode is None else mode), None
    if mode is not None:
        return mode, (info.st_uid, info.st_gid)
    return info.st_mode & 0o7777, (info.st_uid, info.st_gid)
