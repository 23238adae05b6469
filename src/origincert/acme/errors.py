"""The error of the ACME side: one line naming what the ACME server (or DNS) did."""

from __future__ import annotations

from origincert.errors import OriginCertError


class AcmeError(OriginCertError):
    """The ACME server refused or failed a step, or the challenge never became visible.

    ``problem`` keeps the server's RFC 8555 problem type when it sent one
    (``urn:ietf:params:acme:error:...``).
    """

    def __init__(self, message: str, *, hint: str | None = None,
                 problem: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.problem = problem
