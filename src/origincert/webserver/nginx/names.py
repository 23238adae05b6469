"""Hostnames as nginx writes them, and safe file names made from them."""

from __future__ import annotations

import ipaddress
import re

from origincert.errors import HostnameError

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_KEY = re.compile(r"^[a-z0-9_][a-z0-9_.-]*$")


def plain_hostname(name: str) -> str | None:
    """``name`` lowercased if it is a hostname a certificate can carry, else None.

    nginx's ``server_name`` also takes ``_`` and ``""`` (no name), regexes
    (``~...``), leading-dot and trailing-star forms, and addresses: none of them
    is a hostname. A one-level leading wildcard (``*.example.com``) is one.
    A name without a dot (``localhost``) cannot be certified by Origin CA.
    """
    name = name.strip().lower().rstrip(".")
    if not name or name.startswith("~") or "." not in name or _is_address(name):
        return None
    labels = name.split(".")
    if labels[0] == "*":
        labels = labels[1:]
    if len(labels) < 2:
        return None
    return name if all(_LABEL.match(label) for label in labels) else None


def to_site_key(hostname: str) -> str:
    """A name safe for files and lineages: ``*.a.example`` -> ``_wildcard_.a.example``."""
    key = hostname.strip().lower()
    if key.startswith("*."):
        key = "_wildcard_" + key[1:]
    if "/" in key or ".." in key or not _KEY.match(key):
        raise HostnameError(
            f"{hostname!r} cannot name a file",
            hint="use a hostname such as example.com or *.example.com",
        )
    return key


def sample_name(hostname: str, label: str = "sample") -> str:
    """A concrete name a wildcard matches, for connecting with SNI."""
    return f"{label}{hostname[1:]}" if hostname.startswith("*.") else hostname


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True
