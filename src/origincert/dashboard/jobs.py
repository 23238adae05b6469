"""Long operations as jobs: run in a worker thread, progress readable while they run.

A job keeps the progress lines its operation reports, then its result or its
error (one line, in the shape of ``problems``). Jobs live in memory: a
restart forgets them, while what they did stays in the state and the audit log.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from origincert.dashboard.problems import from_error
from origincert.state.db import utc_now

log = logging.getLogger(__name__)

QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"
KEEP = 200  # finished jobs remembered, newest kept

Work = Callable[[Callable[[str], None]], dict[str, Any]]


@dataclass
class Job:
    id: str
    kind: str
    subject: str
    status: str = QUEUED
    lines: list[str] = field(default_factory=list)
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    created_at: datetime = field(default_factory=utc_now)
    finished_at: datetime | None = None

    @property
    def done(self) -> bool:
        return self.status in (SUCCEEDED, FAILED)

    def to_json(self, since: int = 0) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "subject": self.subject,
                "status": self.status, "lines": self.lines[since:], "line_count": len(self.lines),
                "result": self.result, "error": self.error, "created_at": self.created_at,
                "finished_at": self.finished_at}


class Jobs:
    """A small worker pool and the jobs it ran; the server lock serializes edits."""

    def __init__(self, workers: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dashboard-job")
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()

    def submit(self, kind: str, subject: str, work: Work) -> Job:
        job = Job(secrets.token_hex(8), kind, subject)
        with self._lock:
            self._jobs[job.id] = job
            self._forget_old()
        self._pool.submit(self._run, job, work)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def latest(self, kind: str, subject: str | None = None) -> Job | None:
        with self._lock:
            found = [j for j in self._jobs.values()
                     if j.kind == kind and (subject is None or j.subject == subject)]
        return found[-1] if found else None

    def all(self) -> list[Job]:
        with self._lock:
            return list(reversed(self._jobs.values()))

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _run(self, job: Job, work: Work) -> None:
        job.status = RUNNING
        log.info("job started job=%s kind=%s subject=%s", job.id, job.kind, job.subject)
        try:
            job.result = work(job.lines.append)
            job.status = SUCCEEDED
        except Exception as err:  # the job's outcome, never the worker's end
            job.error = from_error(err).to_json()["error"]
            job.status = FAILED
        finally:
            if job.status == RUNNING:  # interrupted (the server is stopping)
                job.error = {"code": "interrupted", "message": "the job was interrupted",
                             "hint": "see the audit log, and run it again"}
                job.status = FAILED
            job.finished_at = utc_now()
        log.info("job finished job=%s status=%s", job.id, job.status)

    def _forget_old(self) -> None:
        finished = [key for key, job in self._jobs.items() if job.done]
        for key in finished[:max(0, len(self._jobs) - KEEP)]:
            del self._jobs[key]
