"""Hostnames as Cloudflare's Origin CA accepts them.

The rules are the fact sheet's (cloudflare-api.md §1.4, field case C40): a
fully qualified name or a single leading ``*.`` wildcard with at least two
labels after it, never an IP address, IDN names in punycode. Checking them
here gives the user one clear line before any API call is made.
"""

from __future__ import annotations

import encodings.idna
import ipaddress
import re

from origincert.errors import HostnameError

MAX_NAME_LENGTH = 253
MAX_LABEL_LENGTH = 63
WILDCARD = "*"

_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")


def normalize(name: str) -> str:
    """The canonical form: trimmed, lowercase, no trailing dot, punycode."""
    text = name.strip().rstrip(".").lower()
    if not text or text.isascii():
        return text

    labels = []
    for label in text.split("."):
        labels.append(_label_to_ascii(name, label))
    return ".".join(labels)


def validate(name: str) -> str:
    """Check a hostname and return its normalized form, or raise HostnameError."""
    shown = name.strip()
    if not shown or not shown.rstrip("."):
        raise HostnameError("hostname is empty", hint="give a name such as www.example.com")
    _refuse_ip_address(shown)

    host = normalize(name)
    if len(host) > MAX_NAME_LENGTH:
        raise HostnameError(
            f"hostname {_short(host)} is too long ({len(host)} characters)",
            hint=f"a hostname has at most {MAX_NAME_LENGTH}",
        )

    labels = host.split(".")
    _check_wildcard(shown, labels)
    _check_labels(shown, labels)
    return host


def is_wildcard(name: str) -> bool:
    return name.startswith("*.")


def zone_candidates(name: str) -> list[str]:
    """The name and its parent suffixes, most specific first, without the TLD.

    ``www.shop.example.com`` gives ``www.shop.example.com``, ``shop.example.com``,
    ``example.com``; a leading ``*`` is skipped, since it is never a zone.
    """
    labels = normalize(name).split(".")
    if labels and labels[0] == WILDCARD:
        labels = labels[1:]
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


def depth_below(name: str, zone: str) -> int:
    """How many labels ``name`` has below the apex of ``zone`` (``*`` counts as one)."""
    host, apex = normalize(name), normalize(zone)
    if host == apex:
        return 0
    if not host.endswith("." + apex):
        raise HostnameError(f"hostname {host} is not in zone {apex}")
    return host[: -len(apex) - 1].count(".") + 1


def is_edge_covered(name: str, zone: str) -> bool:
    """True when the free Universal SSL certificate (apex + one level) covers it."""
    return depth_below(name, zone) <= 1


def _label_to_ascii(name: str, label: str) -> str:
    if label.isascii():
        return label
    try:
        return encodings.idna.ToASCII(label).decode("ascii")
    except UnicodeError as err:
        raise HostnameError(
            f"hostname {name.strip()!r} has a label that is not a valid international name",
            hint="check the spelling of the name",
        ) from err


def _refuse_ip_address(shown: str) -> None:
    candidate = shown.strip("[]")
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return
    raise HostnameError(
        f"{shown} is an IP address, not a hostname",
        hint="Origin CA certificates name hostnames only; use the site's name",
    )


def _check_wildcard(shown: str, labels: list[str]) -> None:
    # Only one leading "*" label is allowed: "*.*.x", "foo.*.x", "f*o.x" are refused.
    for index, label in enumerate(labels):
        if WILDCARD not in label:
            continue
        if index != 0 or label != WILDCARD:
            raise HostnameError(
                f"hostname {shown} has a wildcard that is not the whole first label",
                hint="a wildcard is a single leading '*.' covering one level, e.g. *.example.com",
            )

    if labels[0] == WILDCARD and len(labels) < 3:
        raise HostnameError(
            f"wildcard {shown} is too broad",
            hint="a wildcard needs at least two labels after '*.', e.g. *.example.com",
        )


def _check_labels(shown: str, labels: list[str]) -> None:
    if len(labels) < 2:
        raise HostnameError(
            f"hostname {shown} is not a fully qualified name",
            hint="give the full name with its zone, e.g. www.example.com",
        )

    for label in labels:
        if label == WILDCARD:
            continue
        if not label:
            raise HostnameError(f"hostname {shown} has an empty label (two dots in a row)")
        if len(label) > MAX_LABEL_LENGTH:
            raise HostnameError(
                f"hostname {_short(shown)} has a label longer than {MAX_LABEL_LENGTH} characters"
            )
        if not _LABEL.match(label):
            raise HostnameError(
                f"hostname {shown} has an invalid label {label!r}",
                hint="labels use letters, digits and inner hyphens only",
            )


def _short(text: str) -> str:
    return text if len(text) <= 60 else f"{text[:28]}...{text[-28:]}"
