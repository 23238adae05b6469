"""Server edits as a transaction: record, edit, test, reload, verify, or undo.

Before anything changes, the journal in the state database holds every file
to be touched with its bytes before the change, and where the certificate
pointer pointed. A failure at any step undoes all of it and reloads; a crash
(power loss, SIGKILL) leaves the journal open, and the next run (or
``origincert recover``) undoes it the same way.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from origincert import files
from origincert.errors import OriginCertError, RecoveryError, VerificationError
from origincert.provision.verify import Check, wait_until_served
from origincert.state.certstore import CertStore
from origincert.state.db import Store
from origincert.webserver.base import FileChange, WebServer

log = logging.getLogger(__name__)

StepHook = Callable[[str], None]

# The steps, in order; the hook is called at each boundary (tests crash there).
STEPS = ("journal", "pointer", "files", "config_test", "reload", "verify")


@dataclass(frozen=True)
class Pointer:
    """The live pointer of a lineage: where it points now and where it will."""

    lineage: str
    before: int | None
    after: int


Pointers = Pointer | Sequence[Pointer] | None

# From this many files and pointers, each write no longer waits for its own fsync:
# one ``files.flush`` makes them all durable (a batch of sites has thousands).
FLUSH_FROM = 16


class Transaction:
    """One change to one web server, all or nothing."""

    def __init__(self, server: WebServer, store: Store, certstore: CertStore, *,
                 step_hook: StepHook | None = None, verify_timeout: float = 15.0) -> None:
        self.server = server
        self.store = store
        self.certstore = certstore
        self.step_hook = step_hook or (lambda step: None)
        self.verify_timeout = verify_timeout

    def apply(self, operation: str, changes: list[FileChange], pointer: Pointers,
              checks: Callable[[], list[Check]], *,
              progress: Callable[[str], None] = print,
              serves: str = "the new certificate", lineage: str | None = None) -> None:
        """Make the change, prove it, or leave everything as it was and raise.

        ``serves`` says in words what the checks want served, for the failure message;
        ``lineage`` names the certificate concerned when no pointer moves.
        """
        pointer = _pointers(pointer)
        if lineage is None and len(pointer) == 1:
            lineage = pointer[0].lineage
        journal_id = self.store.journal_begin(
            operation, lineage=lineage, state=_journal_state(changes, pointer),
        )
        self.step_hook("journal")
        try:
            self._forward(journal_id, changes, pointer, checks, progress, serves)
        except BaseException as err:
            self._undo(journal_id, changes, pointer, reason=err)
            raise
        self.store.journal_finish(journal_id, "done")

    def _forward(self, journal_id: int, changes: list[FileChange], pointer: list[Pointer],
                 checks: Callable[[], list[Check]], progress: Callable[[str], None],
                 serves: str) -> None:
        durable = _few(pointer, changes)  # a batch makes its writes durable at once
        for p in pointer:
            self.certstore.point_live(p.lineage, p.after, durable=durable)
        self._step(journal_id, "pointer")

        for c in changes:
            _write(c.path, c.after, c.mode, durable=durable)
        if not durable:
            files.flush([self.certstore.live_dir, *{c.path.parent for c in changes}])
        self._step(journal_id, "files")

        # Where to connect depends on the new configuration, on disk from here on:
        # it is read while the server tests it.
        with ThreadPoolExecutor(1) as pool:
            building = pool.submit(checks)
            self.server.config_test()
            progress(f"{self.server.kind} accepted the new configuration")
            self._step(journal_id, "config_test")

            self.server.reload()
            progress(f"{self.server.kind} reloaded")
            self._step(journal_id, "reload")
            planned = building.result()

        if not planned:
            raise VerificationError("found no HTTPS listener to verify after the change")
        results = wait_until_served(planned, timeout=self.verify_timeout)
        failed = [r for r in results if not r.ok]
        if failed:
            raise VerificationError(
                f"the server does not serve {serves}: "
                + "; ".join(r.describe() for r in failed),
                hint="nothing was changed; check the server's error log",
            )
        for result in results:
            progress(f"verified: {result.describe()}")
        self._step(journal_id, "verify")

    def _step(self, journal_id: int, step: str) -> None:
        self.store.journal_step(journal_id, step)
        log.info("transaction step", extra={"journal_id": journal_id, "step": step})
        self.step_hook(step)

    def _undo(self, journal_id: int, changes: list[FileChange], pointer: list[Pointer],
              *, reason: BaseException) -> None:
        log.warning("rolling back", extra={"journal_id": journal_id, "reason": str(reason)})
        try:
            restore(self.server, self.certstore, changes, pointer)
        except OriginCertError as err:
            log.error("rollback incomplete", extra={"journal_id": journal_id,
                                                    "error": err.one_line()})
            # left open on purpose: the next run (or `origincert recover`) tries again
            self.store.journal_step(journal_id, "rollback_failed")
            raise _rollback_failed(reason, err) from err
        self.store.journal_finish(journal_id, "rolled_back")


def restore(server: WebServer, certstore: CertStore, changes: list[FileChange],
            pointer: Pointers) -> None:
    """Put every file and the pointers back, then test and reload the old config."""
    pointer = _pointers(pointer)
    durable = _few(pointer, changes)
    for c in reversed(changes):
        _write(c.path, c.before, c.mode, durable=durable)
    for p in pointer:
        if p.before is None:
            files.remove(certstore.live_dir / p.lineage)
        else:
            certstore.point_live(p.lineage, p.before, durable=durable)
    if not durable:
        files.flush([certstore.live_dir, *{c.path.parent for c in changes}])

    server.config_test()
    server.reload()


def recover(server: WebServer, store: Store, certstore: CertStore) -> list[int]:
    """Undo every run that started and never finished; returns their journal ids."""
    recovered = []
    for entry in store.journal_unfinished():
        changes, pointer = _from_journal(entry.state_json)
        try:
            restore(server, certstore, changes, pointer)
        except OriginCertError as err:
            raise RecoveryError(
                f"could not undo the interrupted run {entry.id} ({entry.operation}): "
                f"{err.one_line()}",
                hint="fix that, then run: origincert recover",
            ) from err
        store.journal_finish(entry.id, "recovered")
        # an interrupted install leaves its certificates issued but never installed
        lineages = {p.lineage for p in pointer} | ({entry.lineage} if entry.lineage else set())
        if entry.operation != "uninstall":
            for lineage in sorted(lineages):
                for cert in store.certificates(lineage=lineage, status="issued"):
                    store.update_certificate(cert.id, status="unused")
        recovered.append(entry.id)
    return recovered


def _rollback_failed(reason: BaseException, err: OriginCertError) -> RecoveryError:
    """One line: what failed first, and that undoing it failed too."""
    cause = reason.one_line() if isinstance(reason, OriginCertError) else (
        str(reason) or type(reason).__name__)
    then = ("the same failure stopped the reload after the rollback"
            if err.one_line() == cause else f"after the rollback: {err.one_line()}")
    return RecoveryError(f"{cause}; the files are restored, but {then}",
                         hint="once that works, run: origincert recover")


def _write(path: Path, data: bytes | None, mode: int | None, *, durable: bool = True) -> None:
    if data is None:
        files.remove(path)
        return
    files.ensure_dir(path.parent)
    files.write_atomic(path, data, mode=mode if not path.exists() else None, durable=durable)


def _few(pointer: Sequence[Pointer], changes: Sequence[FileChange]) -> bool:
    """Few enough writes to fsync each; more are made durable by one ``files.flush``."""
    return len(pointer) + len(changes) < FLUSH_FROM


def _pointers(pointer: Pointers) -> list[Pointer]:
    if pointer is None:
        return []
    return [pointer] if isinstance(pointer, Pointer) else list(pointer)


def _journal_state(changes: list[FileChange], pointer: list[Pointer]) -> dict[str, Any]:
    return {
        "changes": [
            # Only what undoing needs: a batch's journal holds thousands of files.
            {"path": str(c.path), "mode": c.mode, "before": _b64(c.before)}
            for c in changes
        ],
        "pointers": [{"lineage": p.lineage, "before": p.before, "after": p.after}
                     for p in pointer],
    }


def _from_journal(state: dict[str, Any]) -> tuple[list[FileChange], list[Pointer]]:
    changes = [
        FileChange(Path(c["path"]), _unb64(c["before"]), _unb64(c.get("after")), c.get("mode"))
        for c in state.get("changes", [])
    ]
    raw = state.get("pointers")
    if raw is None:  # journals written before batches: one pointer or none
        raw = [state["pointer"]] if state.get("pointer") else []
    return changes, [Pointer(p["lineage"], p["before"], p["after"]) for p in raw]


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode()


def _unb64(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)
