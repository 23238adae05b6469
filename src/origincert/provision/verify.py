"""Proof that the server serves what it should, by real handshakes."""

from __future__ import annotations

import time
from dataclasses import dataclass

from origincert.probe.tls import Handshake, handshake, sni_for
from origincert.webserver.base import Endpoint


@dataclass(frozen=True)
class Check:
    """One name at one local endpoint, and the certificate it must present."""

    hostname: str
    endpoint: Endpoint
    expected_der: bytes


@dataclass(frozen=True)
class CheckResult:
    check: Check
    handshake: Handshake

    @property
    def ok(self) -> bool:
        return self.handshake.certificate_der == self.check.expected_der

    def describe(self) -> str:
        where = f"{self.check.endpoint.host}:{self.check.endpoint.port}"
        if self.ok:
            return f"{self.check.hostname} at {where} serves the new certificate"
        if self.handshake.error:
            return f"{self.check.hostname} at {where}: {self.handshake.error}"
        return f"{self.check.hostname} at {where} serves a different certificate"


def wait_until_served(checks: list[Check], *, timeout: float = 15.0,
                      interval: float = 0.1) -> list[CheckResult]:
    """Handshake for every check until all pass or ``timeout`` passes.

    A reload is asynchronous: the master re-reads its configuration and old
    workers finish their connections, so the first handshakes may still meet
    the old configuration.
    """
    deadline = time.monotonic() + timeout
    pending = list(checks)
    done: list[CheckResult] = []
    while True:
        results = [CheckResult(c, handshake(c.endpoint.host, c.endpoint.port,
                                            sni_for(c.hostname))) for c in pending]
        done += [r for r in results if r.ok]
        pending = [r.check for r in results if not r.ok]
        if not pending or time.monotonic() >= deadline:
            return done + [r for r in results if not r.ok]
        time.sleep(interval)
