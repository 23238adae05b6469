"""The sandbox's authoritative DNS: the world's zones over UDP and TCP on loopback.

Started with the sandbox when `SandboxSettings(dns=True)`; `sb.dns.address` is its
(host, port). It serves the records of the live world, including TXT records created
through `POST /zones/{id}/dns_records`, so that a real ACME server (Pebble, with
`-dnsserver host:port`) can validate DNS-01 challenges against it.
"""

from .answers import AUTO_TTL, NAMESERVERS, answer
from .server import DnsServer

__all__ = ["AUTO_TTL", "NAMESERVERS", "DnsServer", "answer"]
