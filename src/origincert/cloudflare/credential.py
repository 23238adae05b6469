"""Cloudflare credentials and how to tell their kinds apart by shape.

Three kinds exist (fact sheet §2.1): an API token (Bearer), a Global API Key
with the account's email, and the retired Origin CA service key. Users paste
one where another belongs; recognising the shape lets us name the mistake
instead of relaying a bare 6003/6103 from the API (field case C12).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from origincert.secret import Secret

TOKEN = "token"
GLOBAL_KEY = "global_key"
SERVICE_KEY = "service_key"
UNKNOWN = "unknown"

_LEGACY_GLOBAL_KEY = re.compile(r"[0-9a-f]{37,45}")
_LEGACY_TOKEN = re.compile(r"[A-Za-z0-9_-]{40}")


@dataclass(frozen=True)
class Credential:
    """A credential as the product holds it: its kind, the secret, the email."""

    kind: str
    secret: Secret
    email: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in (TOKEN, GLOBAL_KEY):
            raise ValueError(f"unsupported credential kind {self.kind!r}")


def shape_of(value: str) -> str:
    """Which kind of credential ``value`` looks like, judged by its shape alone."""
    if value.startswith("v1.0-"):
        return SERVICE_KEY
    if value.startswith(("cfut_", "cfat_")):
        return TOKEN
    if value.startswith("cfk_"):
        return GLOBAL_KEY
    if _LEGACY_GLOBAL_KEY.fullmatch(value):
        return GLOBAL_KEY
    if _LEGACY_TOKEN.fullmatch(value):
        return TOKEN
    return UNKNOWN
