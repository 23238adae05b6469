"""The tables of ``state.db`` (SQLAlchemy 2.0 declarative, typed).

Times are stored as UTC and always come back timezone-aware. Lists and
reports are JSON columns. No column ever holds a secret in plain text:
credentials live only in ``accounts.secret_ciphertext``, sealed by the vault.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

SCHEMA_VERSION = 1

ACCOUNT_KINDS = ("token", "global_key")
CERTIFICATE_STATUSES = ("requested", "issued", "installed", "unused", "revoked", "superseded")
AUDIT_RESULTS = ("ok", "error")


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime stored naive in UTC and returned aware, so comparisons never mix kinds."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the state store; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class SchemaVersion(Base):
    __tablename__ = "schema_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(320))
    secret_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    secret_fingerprint: Mapped[str] = mapped_column(String(16))
    api_base: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    report_json: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    @property
    def budget_key(self) -> str | None:
        """Which request budget this account's calls count against.

        Cloudflare counts a user's requests together, across their Global API Key
        and every token they own, and an account-owned token's on its own (fact
        sheet §4). Who owns a token is not known here, so every credential against
        one API shares one budget: slower with several users' credentials, but never
        over anyone's limit.
        """
        # TODO(#10): learn each credential's owner at `account add`, and key on it.
        return self.api_base

    def __repr__(self) -> str:
        # The ciphertext is left out too: it is useless to a reader and long.
        return f"Account(id={self.id}, name={self.name!r}, kind={self.kind!r})"


class Certificate(Base):
    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    cf_id: Mapped[str | None] = mapped_column(String(100), index=True)
    lineage: Mapped[str] = mapped_column(String(255), index=True)
    hostnames: Mapped[list[str]] = mapped_column(JSON)
    key_type: Mapped[str] = mapped_column(String(10))
    request_type: Mapped[str] = mapped_column(String(30))
    validity_days: Mapped[int] = mapped_column(Integer)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    not_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    serial_hex: Mapped[str | None] = mapped_column(String(80))
    fingerprint_sha256: Mapped[str | None] = mapped_column(String(64))
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    zone_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), index=True)
    version: Mapped[int] = mapped_column(Integer)
    cert_path: Mapped[str | None] = mapped_column(Text)
    key_path: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    installed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replaced_by: Mapped[int | None] = mapped_column(
        ForeignKey("certificates.id", ondelete="SET NULL")
    )

    def __repr__(self) -> str:
        return (
            f"Certificate(id={self.id}, lineage={self.lineage!r}, version={self.version}, "
            f"status={self.status!r}, cf_id={self.cf_id!r})"
        )


class Installation(Base):
    __tablename__ = "installations"

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id"), index=True)
    webserver: Mapped[str] = mapped_column(String(20))
    site_name: Mapped[str] = mapped_column(String(255))
    config_files: Mapped[list[str]] = mapped_column(JSON, default=list)
    installed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    zone: Mapped[str | None] = mapped_column(String(255))
    target: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str] = mapped_column(String(10))
    ray_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)


class JournalEntry(Base):
    __tablename__ = "journal"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    operation: Mapped[str] = mapped_column(String(50))
    lineage: Mapped[str | None] = mapped_column(String(255))
    step: Mapped[str] = mapped_column(String(100))
    state_json: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class Notification(Base):
    """Something a person should hear about: a failed renewal, a certificate expiring soon.

    Written by the lifecycle (``origincert.lifecycle.notify``) and read by the dashboard.
    A new table: ``Store`` creates it on open, no migration needed.
    """

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    event: Mapped[str] = mapped_column(String(50), index=True)
    severity: Mapped[str] = mapped_column(String(10))  # "info", "warning", "error"
    subject: Mapped[str | None] = mapped_column(String(255), index=True)  # dedupe key
    message: Mapped[str] = mapped_column(Text)
    detail_json: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    delivered: Mapped[str | None] = mapped_column(String(20))  # webhook: "sent", "failed"


class PendingRevocation(Base):
    """A certificate a renewal replaced, to revoke at Cloudflare once ``due_at`` passes."""

    __tablename__ = "pending_revocations"

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id"), index=True)
    replaced_by: Mapped[int | None] = mapped_column(
        ForeignKey("certificates.id", ondelete="SET NULL"))
    site_name: Mapped[str | None] = mapped_column(String(255))
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
