"""Keys and certificates: generation, CSRs, parsing, matching, the Origin CA roots.

Pure functions over ``cryptography`` objects and bytes; nothing here writes a
file or talks to Cloudflare (the state store persists keys, the Cloudflare
client sends CSRs).
"""

from __future__ import annotations

from origincert.errors import ConfigError


class MaterialError(ConfigError):
    """A key, certificate or CSR is malformed, of the wrong kind, or does not fit."""


__all__ = ["MaterialError"]
