"""The lifecycle's rows in the state database: notifications and pending revocations.

The tables are declared in ``state.models`` (``Store`` creates them on open).
TODO(#8): these helpers use ``Store._session``; they belong in ``Store`` as public
methods once its owner takes them (asked in the issue's note).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from origincert.state.db import Store
from origincert.state.models import Notification, PendingRevocation


def add_notification(store: Store, *, at: datetime, event: str, severity: str,
                     subject: str | None, message: str, detail: dict[str, Any]) -> int:
    row = Notification(at=at, event=event, severity=severity, subject=subject,
                       message=message, detail_json=dict(detail))
    with store._session() as session:
        session.add(row)
        session.flush()
        return row.id


def set_delivered(store: Store, notification_id: int, delivered: str) -> None:
    with store._session() as session:
        row = session.get(Notification, notification_id)
        if row is not None:
            row.delivered = delivered


def notifications(store: Store, *, limit: int = 50, event: str | None = None,
                  subject: str | None = None, since: datetime | None = None
                  ) -> list[Notification]:
    """The most recent notifications, newest first."""
    query = select(Notification).order_by(Notification.id.desc()).limit(limit)
    if event is not None:
        query = query.where(Notification.event == event)
    if subject is not None:
        query = query.where(Notification.subject == subject)
    if since is not None:
        query = query.where(Notification.at >= since)
    with store._session() as session:
        return list(session.scalars(query))


def queue_revocation(store: Store, certificate_id: int, *, replaced_by: int | None,
                     site_name: str | None, queued_at: datetime, due_at: datetime) -> int:
    """Queue a revocation once; queuing the same certificate again keeps the first."""
    with store._session() as session:
        existing = session.scalar(select(PendingRevocation).where(
            PendingRevocation.certificate_id == certificate_id,
            PendingRevocation.done_at.is_(None)))
        if existing is not None:
            return existing.id
        row = PendingRevocation(certificate_id=certificate_id, replaced_by=replaced_by,
                                site_name=site_name, queued_at=queued_at, due_at=due_at)
        session.add(row)
        session.flush()
        return row.id


def pending_revocations(store: Store) -> list[PendingRevocation]:
    """Revocations not done yet, oldest first."""
    query = (select(PendingRevocation).where(PendingRevocation.done_at.is_(None))
             .order_by(PendingRevocation.id))
    with store._session() as session:
        return list(session.scalars(query))


def finish_revocation(store: Store, pending_id: int, *, at: datetime | None,
                      error: str | None = None) -> None:
    """Record an attempt: done (``at``), or failed with ``error`` (tried again next run)."""
    with store._session() as session:
        row = session.get(PendingRevocation, pending_id)
        if row is None:
            return
        row.attempts = (row.attempts or 0) + 1
        row.last_error = error
        if at is not None:
            row.done_at = at
