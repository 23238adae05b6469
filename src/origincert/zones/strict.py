"""Would Full (strict) work? A real handshake with every proxied origin, by name.

The SSL mode is zone-wide: switching it for the site we just made ready can
give every other proxied hostname of the zone a 525 or 526 (field cases C02,
C42). So before the switch, each proxied hostname's origin is reached with
its own name as SNI and judged as Cloudflare's edge would judge it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from origincert.probe.tls import handshake, sni_for, verify_error

STRICT = "strict"       # Full (strict) will work
FULL_ONLY = "full"      # TLS works, but the certificate would give a 526
FAILS = "fails"         # no TLS at all: a 525 (or 521/522) in Full and strict
UNKNOWN = "unknown"     # no address we can reach (a CNAME outside the zone)


@dataclass(frozen=True)
class Verdict:
    hostname: str
    address: str | None
    outcome: str
    reason: str

    def describe(self) -> str:
        where = f" at {self.address}" if self.address else ""
        return f"{self.hostname}{where}: {self.reason}"


Clock = Callable[[], dt.datetime]


def judge(hostname: str, addresses: list[str], roots: list[x509.Certificate], *,
          port: int = 443, clock: Clock | None = None,
          address_map: dict[str, str] | None = None) -> list[Verdict]:
    """One verdict per origin address of ``hostname``."""
    if not addresses:
        return [Verdict(hostname, None, UNKNOWN, "its origin is outside the zone; "
                        "origincert cannot check it")]
    mapped = address_map or {}
    return [_judge_one(hostname, a, mapped.get(a, a), roots, port, clock) for a in addresses]


def _judge_one(hostname: str, address: str, reach: str, roots: list[x509.Certificate],
               port: int, clock: Clock | None) -> Verdict:
    sni = sni_for(hostname)
    shake = handshake(reach, port, sni, timeout=5.0)
    if shake.certificate_der is None:
        return Verdict(hostname, address, FAILS, f"525 expected: {shake.error}")

    leaf = x509.load_der_x509_certificate(shake.certificate_der)
    problem = _expired(leaf, clock) or verify_error(reach, port, sni, _pem(roots))
    if problem:
        return Verdict(hostname, address, FULL_ONLY, f"526 expected: {problem}")
    return Verdict(hostname, address, STRICT, "valid for Full (strict)")


def _expired(leaf: x509.Certificate, clock: Clock | None) -> str | None:
    """Expiry by the injected clock; the handshake itself checks the real one."""
    if clock is None:
        return None
    now = clock()
    if now < leaf.not_valid_before_utc or now > leaf.not_valid_after_utc:
        return f"certificate has expired or is not yet valid ({leaf.not_valid_after_utc:%Y-%m-%d})"
    return None


def _pem(roots: list[x509.Certificate]) -> str:
    return "".join(r.public_bytes(serialization.Encoding.PEM).decode() for r in roots)
