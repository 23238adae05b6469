"""Notifications: to the log, to the state database (the dashboard), and to a webhook.

Events: ``renewal_failed``, ``hook_failed``, ``revocation_failed`` (errors);
``expiring`` and ``revoked_but_served`` (warnings, at most once a day per
certificate); ``renewed``, ``revoked`` and ``renew_run`` (info, the summary of a run).

When ``webhook_url`` is set, warnings and errors (and the summary of a run
that had any) are POSTed to it as JSON::

    {"event": "renewal_failed", "severity": "error", "at": "2027-01-01T00:00:00+00:00",
     "host": "web1", "message": "...", "detail": {"site": ..., "hostnames": [...], ...}}

The payload carries names, dates and ids, never a credential or a key. A webhook
that fails is logged and recorded; it never fails the run.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from origincert.lifecycle import records
from origincert.lifecycle.clock import Clock, system_clock
from origincert.state.db import Store

log = logging.getLogger(__name__)

ERROR, WARNING, INFO = "error", "warning", "info"
_LEVELS = {ERROR: logging.ERROR, WARNING: logging.WARNING, INFO: logging.INFO}
_ONCE_A_DAY = {"expiring", "revoked_but_served"}


@dataclass
class Notifier:
    store: Store
    webhook_url: str | None = None
    clock: Clock = system_clock
    timeout: float = 10.0
    sent: list[dict[str, Any]] = field(default_factory=list)

    def notify(self, event: str, severity: str, message: str, *, subject: str | None = None,
               **detail: Any) -> bool:
        """Record and deliver one notification; False when a recent twin made it redundant."""
        now = self.clock()
        if event in _ONCE_A_DAY and subject and records.notifications(
                self.store, limit=1, event=event, subject=subject,
                since=now - timedelta(hours=20)):
            return False

        log.log(_LEVELS.get(severity, logging.INFO), "notification",
                extra={"event": event, "subject": subject, "text": message})
        clean = _plain(detail)
        row = records.add_notification(self.store, at=now, event=event, severity=severity,
                                       subject=subject, message=message, detail=clean)
        if self.webhook_url and severity in (ERROR, WARNING):
            payload = {"event": event, "severity": severity, "at": now.isoformat(),
                       "host": socket.gethostname(), "message": message, "detail": clean}
            records.set_delivered(self.store, row, self._post(payload))
        return True

    def _post(self, payload: dict[str, Any]) -> str:
        try:
            answer = httpx.post(str(self.webhook_url), json=payload, timeout=self.timeout)
        except httpx.HTTPError as err:
            # the error text may name the URL, which can hold a secret: the type only
            log.warning("webhook failed", extra={"error": type(err).__name__})
            return "failed"
        if answer.status_code >= 300:
            log.warning("webhook refused", extra={"status": answer.status_code})
            return "failed"
        self.sent.append(payload)
        return "sent"


def _plain(detail: dict[str, Any]) -> dict[str, Any]:
    """JSON-ready values: datetimes as ISO text, tuples as lists, None dropped."""
    out: dict[str, Any] = {}
    for key, value in detail.items():
        if value is None:
            continue
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        out[key] = value
    return out
