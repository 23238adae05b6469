"""The state store: one SQLite database (``state.db``) in the state folder.

Opening it creates the folders (0700) and the database file (0600) before
SQLite touches them, so no run ever leaves a world-readable database, even
for a moment. WAL mode lets the dashboard read while a run writes. A
``schema_version`` row makes later migrations possible.

Objects come back detached (``expire_on_commit=False``): callers read their
attributes freely and change them only through the store's methods.
"""

from __future__ import annotations

import getpass
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import create_engine, event, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from origincert.errors import StateError, UsageError
from origincert.files import ensure_dir, write_atomic
from origincert.secret import Secret
from origincert.state.models import (
    ACCOUNT_KINDS,
    AUDIT_RESULTS,
    CERTIFICATE_STATUSES,
    SCHEMA_VERSION,
    Account,
    AuditEntry,
    Base,
    Certificate,
    Installation,
    JournalEntry,
    SchemaVersion,
)
from origincert.state.paths import StatePaths
from origincert.state.vault import Vault

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

# Fields a caller may change on a certificate; the id and lineage never move.
_CERT_REQUIRED = ("lineage", "hostnames", "key_type", "request_type", "validity_days", "version")
_CERT_UPDATABLE = {
    "cf_id", "hostnames", "not_before", "not_after", "serial_hex", "fingerprint_sha256",
    "zone_ids", "status", "cert_path", "key_path", "installed_at", "revoked_at",
    "replaced_by", "request_type", "validity_days",
}

# Ids per ``IN (...)`` query: well under SQLite's limit on bound parameters.
_IN_CHUNK = 500


def utc_now() -> datetime:
    return datetime.now(UTC)


def default_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


class Store:
    """Accounts, certificates, installations, the audit log and the journal."""

    def __init__(
        self,
        paths: StatePaths,
        *,
        vault: Vault | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.paths = paths
        self._clock = clock
        self._vault = vault
        self._engine = _open_engine(paths)
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)
        self._prepare_schema()

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def vault(self) -> Vault:
        # Loaded on first need: reading certificates must not create a key file.
        if self._vault is None:
            self._vault = Vault.load(self.paths)
        return self._vault

    # -- accounts ------------------------------------------------------------

    def add_account(
        self,
        name: str,
        kind: str,
        secret: Secret,
        *,
        email: str | None = None,
        api_base: str | None = None,
        report: dict[str, Any] | None = None,
    ) -> Account:
        """Store a new account with its credential sealed; a taken name is refused."""
        _check_account_input(name, kind, secret)
        account = Account(
            name=name,
            kind=kind,
            email=email,
            secret_ciphertext=self.vault.seal(secret, context=name),
            secret_fingerprint=secret.fingerprint(),
            api_base=api_base,
            created_at=self._clock(),
            verified_at=self._clock() if report is not None else None,
            report_json=report,
        )
        try:
            with self._session() as session:
                session.add(account)
        except IntegrityError as err:
            raise UsageError(
                f"an account named {name} already exists",
                hint=f"choose another name, or run: origincert account remove {name}",
            ) from err
        log.info("account added account=%s kind=%s", name, kind)
        return account

    def find_account(self, name: str) -> Account | None:
        with self._session() as session:
            return session.scalar(select(Account).where(Account.name == name))

    def get_account(self, name: str) -> Account:
        account = self.find_account(name)
        if account is None:
            raise UsageError(f"no account named {name}", hint="see: origincert account list")
        return account

    def list_accounts(self) -> list[Account]:
        with self._session() as session:
            return list(session.scalars(select(Account).order_by(Account.name)))

    def remove_account(self, name: str) -> None:
        """Forget an account; its certificates stay recorded (for revocation)."""
        account = self.get_account(name)
        with self._session() as session:
            session.delete(session.get(Account, account.id))
        log.info("account removed account=%s", name)

    def account_secret(self, account: Account | str) -> Secret:
        """The account's credential, opened from its sealed form."""
        record = self.get_account(account) if isinstance(account, str) else account
        return self.vault.open(record.secret_ciphertext, context=record.name)

    def record_verification(self, name: str, report: dict[str, Any]) -> Account:
        """Keep the latest permission report of an account and when it was made."""
        with self._session() as session:
            account = session.scalar(select(Account).where(Account.name == name))
            if account is None:
                raise UsageError(f"no account named {name}", hint="see: origincert account list")
            account.report_json = report
            account.verified_at = self._clock()
        return account

    # -- certificates --------------------------------------------------------

    def record_certificate(
        self,
        *,
        lineage: str,
        hostnames: Sequence[str],
        key_type: str,
        request_type: str,
        validity_days: int,
        version: int,
        key_path: str | None = None,
        account_id: int | None = None,
        zone_ids: Sequence[str] = (),
        status: str = "requested",
        **fields: Any,
    ) -> int:
        """Record a certificate (before the API call, as "requested"); returns its local id."""
        _check_status(status)
        unknown = set(fields) - _CERT_UPDATABLE
        if unknown:
            raise TypeError(f"unknown certificate fields: {', '.join(sorted(unknown))}")

        cert = Certificate(
            lineage=lineage, hostnames=list(hostnames), key_type=key_type,
            request_type=request_type, validity_days=validity_days, version=version,
            key_path=key_path, account_id=account_id, zone_ids=list(zone_ids),
            status=status, created_at=self._clock(), **fields,
        )
        with self._session() as session:
            session.add(cert)
            session.flush()
            return cert.id

    def update_certificate(self, cert_id: int, **fields: Any) -> Certificate:
        """Change recorded fields of a certificate (e.g. status="issued", cf_id=...)."""
        unknown = set(fields) - _CERT_UPDATABLE
        if unknown:
            raise TypeError(f"unknown certificate fields: {', '.join(sorted(unknown))}")
        if "status" in fields:
            _check_status(fields["status"])

        with self._session() as session:
            cert = session.get(Certificate, cert_id)
            if cert is None:
                raise StateError(f"no certificate with local id {cert_id} in the state")
            for name, value in fields.items():
                setattr(cert, name, list(value) if name in ("hostnames", "zone_ids") else value)
        return cert

    def get_certificate(self, cert_id: int) -> Certificate | None:
        with self._session() as session:
            return session.get(Certificate, cert_id)

    def certificates(
        self, lineage: str | None = None, status: str | Sequence[str] | None = None
    ) -> list[Certificate]:
        """Recorded certificates, oldest first, filtered by lineage and status."""
        query = select(Certificate).order_by(Certificate.id)
        if lineage is not None:
            query = query.where(Certificate.lineage == lineage)
        if isinstance(status, str):
            query = query.where(Certificate.status == status)
        elif status is not None:
            query = query.where(Certificate.status.in_(list(status)))
        with self._session() as session:
            return list(session.scalars(query))

    # -- installations -------------------------------------------------------

    def record_installation(
        self, certificate_id: int, webserver: str, site_name: str, config_files: Sequence[str]
    ) -> int:
        entry = Installation(
            certificate_id=certificate_id, webserver=webserver, site_name=site_name,
            config_files=[str(path) for path in config_files], installed_at=self._clock(),
        )
        with self._session() as session:
            session.add(entry)
            session.flush()
            return entry.id

    # -- many at once: one transaction for a whole batch of sites (issue 10) ----

    def record_certificates(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        """``record_certificate`` for many, in one transaction; ids in the same order."""
        made = []
        for row in rows:
            fields = {k: v for k, v in row.items() if k not in _CERT_REQUIRED}
            unknown = set(fields) - _CERT_UPDATABLE - {"status", "account_id"}
            if unknown:
                raise TypeError(f"unknown certificate fields: {', '.join(sorted(unknown))}")
            made.append(Certificate(
                **{k: row[k] for k in _CERT_REQUIRED}, status=row.get("status", "requested"),
                created_at=self._clock(), **{k: v for k, v in fields.items() if k != "status"},
            ))
        with self._session() as session:
            session.add_all(made)
            session.flush()
            return [cert.id for cert in made]

    def update_certificates(self, updates: dict[int, dict[str, Any]]) -> None:
        """``update_certificate`` for many, in one transaction."""
        rows = []
        for cert_id, fields in updates.items():
            unknown = set(fields) - _CERT_UPDATABLE
            if unknown:
                raise TypeError(f"unknown certificate fields: {', '.join(sorted(unknown))}")
            rows.append({"id": cert_id, **{
                name: list(value) if name in ("hostnames", "zone_ids") else value
                for name, value in fields.items()}})
        if not rows:
            return
        with self._session() as session:
            # One query to find them all, then updates by primary key grouped into
            # executemany batches: a batch of sites updates thousands (issue 10).
            ids, found = list(updates), set()
            for start in range(0, len(ids), _IN_CHUNK):
                chunk = ids[start:start + _IN_CHUNK]
                found |= set(session.scalars(select(Certificate.id).where(
                    Certificate.id.in_(chunk))))
            missing = sorted(set(updates) - found)
            if missing:
                raise StateError(f"no certificate with local id {missing[0]} in the state")
            session.execute(update(Certificate), rows)

    def record_installations(self, rows: Sequence[tuple[int, str, str, Sequence[str]]]) -> None:
        """``record_installation`` for many: (certificate id, webserver, site, files)."""
        now = self._clock()
        with self._session() as session:
            # One executemany, no object per row: a batch records thousands (issue 10).
            session.execute(insert(Installation), [
                {"certificate_id": cert_id, "webserver": webserver, "site_name": site,
                 "config_files": [str(p) for p in config_files], "installed_at": now}
                for cert_id, webserver, site, config_files in rows
            ])

    def audit_many(self, entries: Sequence[dict[str, Any]]) -> None:
        """``audit`` for many, in one transaction."""
        for entry in entries:
            if entry.get("result", "ok") not in AUDIT_RESULTS:
                raise ValueError(f"audit result must be one of {AUDIT_RESULTS}")
            if any(isinstance(v, Secret) for v in entry.values()):
                raise TypeError("a Secret must never be written to the audit log")
        now, actor = self._clock(), default_actor()
        with self._session() as session:
            session.execute(insert(AuditEntry), [
                {"result": "ok", "actor": actor, "zone": None, "target": None, "ray_id": None,
                 "detail": None, **entry, "at": now} for entry in entries])

    def installations(
        self, certificate_id: int | None = None, *, active_only: bool = False
    ) -> list[Installation]:
        query = select(Installation).order_by(Installation.id)
        if certificate_id is not None:
            query = query.where(Installation.certificate_id == certificate_id)
        if active_only:
            query = query.where(Installation.removed_at.is_(None))
        with self._session() as session:
            return list(session.scalars(query))

    def mark_installation_removed(self, installation_id: int) -> None:
        with self._session() as session:
            entry = session.get(Installation, installation_id)
            if entry is None:
                raise StateError(f"no installation with id {installation_id} in the state")
            entry.removed_at = self._clock()

    # -- audit log -----------------------------------------------------------

    def audit(
        self,
        action: str,
        *,
        result: str = "ok",
        actor: str | None = None,
        zone: str | None = None,
        target: str | None = None,
        ray_id: str | None = None,
        detail: str | None = None,
    ) -> int:
        """Record a change made at Cloudflare. ``detail`` is plain text, never a secret."""
        if result not in AUDIT_RESULTS:
            raise ValueError(f"audit result must be one of {AUDIT_RESULTS}, not {result!r}")
        for value in (zone, target, detail):
            if isinstance(value, Secret):
                raise TypeError("a Secret must never be written to the audit log")

        entry = AuditEntry(
            at=self._clock(), actor=actor or default_actor(), action=action, zone=zone,
            target=target, result=result, ray_id=ray_id, detail=detail,
        )
        with self._session() as session:
            session.add(entry)
            session.flush()
            return entry.id

    def audit_entries(self, limit: int = 50) -> list[AuditEntry]:
        """The most recent audit entries, newest first."""
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        with self._session() as session:
            return list(session.scalars(query))

    # -- journal -------------------------------------------------------------

    def journal_begin(
        self, operation: str, *, lineage: str | None = None, step: str = "begin",
        state: dict[str, Any] | None = None,
    ) -> int:
        entry = JournalEntry(
            started_at=self._clock(), operation=operation, lineage=lineage, step=step,
            state_json=dict(state or {}),
        )
        with self._session() as session:
            session.add(entry)
            session.flush()
            return entry.id

    def journal_step(
        self, journal_id: int, step: str, state: dict[str, Any] | None = None
    ) -> None:
        """Record the step reached; ``state`` (when given) replaces the saved state."""
        values: dict[str, Any] = {"step": step}
        if state is not None:
            values["state_json"] = dict(state)
        self._journal_update(journal_id, values)

    def journal_finish(self, journal_id: int, step: str = "done") -> None:
        self._journal_update(journal_id, {"step": step, "finished_at": self._clock()})

    def journal_get(self, journal_id: int) -> JournalEntry | None:
        with self._session() as session:
            return session.get(JournalEntry, journal_id)

    def journal_unfinished(self) -> list[JournalEntry]:
        """Runs that started and never finished, oldest first (for recovery)."""
        query = (
            select(JournalEntry)
            .where(JournalEntry.finished_at.is_(None))
            .order_by(JournalEntry.id)
        )
        with self._session() as session:
            return list(session.scalars(query))

    # -- internals -----------------------------------------------------------

    @contextmanager
    def _session(self) -> Iterator[Session]:
        try:
            with self._sessions.begin() as session:
                yield session
        except IntegrityError:
            raise
        except StatementError as err:
            # A value this process passed was wrong (e.g. a naive datetime): a bug, not the disk.
            if isinstance(err.orig, (ValueError, TypeError)):
                raise err.orig from err
            raise self._failed(err) from err
        except SQLAlchemyError as err:
            raise self._failed(err) from err

    def _failed(self, err: Exception) -> StateError:
        cause = getattr(err, "orig", None) or err
        return StateError(
            f"the state database {self.paths.db_file} failed: {cause}",
            hint="check the disk space and the file's owner and permissions",
        )

    def _journal_update(self, journal_id: int, values: dict[str, Any]) -> None:
        # An UPDATE statement, not a loaded entry: a batch's saved state is large, and
        # reading it back only to move the step on costs each site a JSON decode.
        statement = update(JournalEntry).where(JournalEntry.id == journal_id).values(**values)
        with self._session() as session:
            if session.execute(statement).rowcount == 0:
                raise StateError(f"no journal entry {journal_id} in the state")

    def _prepare_schema(self) -> None:
        with self._session() as session:
            Base.metadata.create_all(session.connection())
            row = session.get(SchemaVersion, 1)
            if row is None:
                session.add(SchemaVersion(id=1, version=SCHEMA_VERSION))
            elif row.version > SCHEMA_VERSION:
                raise StateError(
                    f"the state in {self.paths.state_dir} was written by a newer origincert "
                    f"(schema {row.version}, this one knows {SCHEMA_VERSION})",
                    hint="upgrade origincert",
                )
            # TODO(#8): run migrations from row.version up to SCHEMA_VERSION here when
            # the schema changes for the first time.


def _open_engine(paths: StatePaths) -> Engine:
    ensure_dir(paths.state_dir, 0o700)
    db_file = paths.db_file
    if not db_file.exists():
        # An empty file is a valid empty SQLite database; creating it here gives it 0600.
        write_atomic(db_file, b"", mode=0o600)

    engine = create_engine(f"sqlite:///{db_file}")
    event.listen(engine, "connect", _configure_connection)
    return engine


def _configure_connection(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _check_account_input(name: str, kind: str, secret: Secret) -> None:
    if not isinstance(secret, Secret):
        raise TypeError("the credential must be a Secret")
    if kind not in ACCOUNT_KINDS:
        raise UsageError(f"unknown account kind {kind!r}", hint="use 'token' or 'global_key'")
    if not name or not name.strip() or len(name) > 100:
        raise UsageError("an account needs a name of 1 to 100 characters")
    if not secret:
        raise UsageError(f"the credential for account {name} is empty")


def _check_status(status: str) -> None:
    if status not in CERTIFICATE_STATUSES:
        raise ValueError(f"certificate status must be one of {CERTIFICATE_STATUSES}")
