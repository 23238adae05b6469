"""Proof that the server serves what it should, by real handshakes.

A check wants one certificate (``expected_der``: after ``issue``, the new
one; after ``uninstall``, the one the site served before), or anything but
one (``forbidden_der``: after ``uninstall`` of a site that had no HTTPS,
origincert's certificate must be gone; no TLS answer at all passes too).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from origincert.probe.tls import Handshake, handshake, sni_for
from origincert.webserver.base import Endpoint

# From this many checks, a sample is awaited before the whole set is tried.
SAMPLE_FROM = 16
SHAKERS = 8


@dataclass(frozen=True)
class Check:
    """One name at one local endpoint, and the certificate it must (or must not) present."""

    hostname: str
    endpoint: Endpoint
    expected_der: bytes | None
    forbidden_der: bytes | None = None
    wanted: str = "the new certificate"  # what ``expected_der`` is, in words

    def __post_init__(self) -> None:
        if (self.expected_der is None) == (self.forbidden_der is None):
            raise ValueError("a check wants either expected_der or forbidden_der")


@dataclass(frozen=True)
class CheckResult:
    check: Check
    handshake: Handshake

    @property
    def ok(self) -> bool:
        served = self.handshake.certificate_der
        if self.check.forbidden_der is not None:
            return served != self.check.forbidden_der
        return served == self.check.expected_der

    def describe(self) -> str:
        where = f"{self.check.hostname} at {self.check.endpoint.host}:{self.check.endpoint.port}"
        if self.check.forbidden_der is not None:
            if not self.ok:
                return f"{where} still serves origincert's certificate"
            if self.handshake.error:
                return f"{where} no longer serves origincert's certificate " \
                       f"({self.handshake.error})"
            return f"{where} no longer serves origincert's certificate"
        if self.ok:
            return f"{where} serves {self.check.wanted}"
        if self.handshake.error:
            return f"{where}: {self.handshake.error}"
        return f"{where} serves a different certificate"


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
    if len(pending) >= SAMPLE_FROM:
        _wait_for_sample(pending, deadline, interval)
    while True:
        results = _shake_all(pending)
        done += [r for r in results if r.ok]
        pending = [r.check for r in results if not r.ok]
        if not pending or time.monotonic() >= deadline:
            return done + [r for r in results if not r.ok]
        time.sleep(interval)


def _wait_for_sample(checks: list[Check], deadline: float, interval: float) -> None:
    """Until the first and last checks pass, or the deadline: the reload has landed.

    Thousands of handshakes against a server still reading its new
    configuration would all fail, be made again, and slow that reading down.
    """
    sample = [checks[0], checks[-1]]
    while time.monotonic() < deadline:
        if all(r.ok for r in _shake_all(sample)):
            return
        time.sleep(interval / 2)


def _shake_all(checks: list[Check]) -> list[CheckResult]:
    """One handshake per check; a batch of sites has thousands, so a pool does them."""
    def shake(check: Check) -> CheckResult:
        found = handshake(check.endpoint.host, check.endpoint.port, sni_for(check.hostname))
        return CheckResult(check, found)

    if len(checks) < 16:
        return [shake(check) for check in checks]
    # A few threads keep the server busy while one waits; more only add memory.
    with ThreadPoolExecutor(SHAKERS) as pool:
        return list(pool.map(shake, checks))
