"""The one place that writes files.

Every write goes through ``write_atomic``: a temporary file in the same
folder, created with its final mode, written, fsynced, renamed over the
target, and the folder fsynced, so that a crash leaves either the old file or
the new one, never half of either.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from origincert.errors import StateError


def write_atomic(path: Path, data: bytes | str, *, mode: int | None = None) -> None:
    """Replace ``path`` with ``data`` atomically.

    Without ``mode``, an existing file keeps its mode, owner and group (a
    user's config file must not change hands because we edited it); a new
    file gets 0644. Keys pass ``mode=0o600`` and never exist with a wider one.
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
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    fsync_dir(path.parent)


def replace_symlink(link: Path, target: str | Path) -> None:
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
