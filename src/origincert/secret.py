"""A credential that does not leak by accident.

A ``Secret`` prints as ``Secret('****')`` in every ``repr``, ``str``, f-string,
log line and traceback; the value comes out only through ``reveal()``, which
makes every place that needs the real value easy to find. It refuses to be
pickled, so it cannot end up in a cache, a queue or a core of another process.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import NoReturn

# Domain separation: a fingerprint of a token must never equal a plain SHA-256
# someone may have published of the same token elsewhere.
_FINGERPRINT_PREFIX = b"origincert-secret-fingerprint-v1:"
_MASK = "****"


class Secret:
    """A secret string with a masked representation."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError("Secret wraps a str")
        self._value = value

    @classmethod
    def from_input(cls, text: str | bytes) -> Secret:
        """A secret pasted from a terminal or read from a file.

        Stray spaces, tabs, carriage returns and newlines around the value are
        the usual paste mistake (issue 4); they are never part of a credential.
        """
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return cls(text.strip())

    def reveal(self) -> str:
        """The real value; call it only where the value is sent or sealed."""
        return self._value

    def fingerprint(self) -> str:
        """A short, stable identifier that says nothing about the value."""
        digest = hashlib.sha256(_FINGERPRINT_PREFIX + self._value.encode()).hexdigest()
        return digest[:8]

    def __bool__(self) -> bool:
        return bool(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __repr__(self) -> str:
        return f"Secret('{_MASK}')"

    def __str__(self) -> str:
        return _MASK

    def __format__(self, spec: str) -> str:
        return _MASK

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        # Constant time: equality must not become a timing oracle.
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self.fingerprint()))

    def __copy__(self) -> Secret:
        return self  # immutable: a copy is the same value

    def __deepcopy__(self, memo: dict[int, object]) -> Secret:
        return self

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled")

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError("a Secret cannot be pickled")

    def __getstate__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled")
