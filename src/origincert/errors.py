"""The one exception tree of origincert.

Every error the product raises on purpose derives from ``OriginCertError`` and
carries two things: what failed, and what the user can do about it. The CLI
and the dashboard catch this family only; anything else is a bug and is shown
as one.

    OriginCertError
    ├── UsageError              bad arguments or input (exit status 2)
    ├── ConfigError             a setting or configuration file is wrong
    ├── StateError              the state folder or database is unusable
    ├── HostnameError           a name is malformed or has no reachable zone
    ├── CloudflareAPIError      the API refused or failed (code, message, Ray ID)
    │   ├── CredentialError     the credential does not authenticate at all
    │   ├── PermissionMissingError  it authenticates but lacks a permission
    │   └── RateLimitedError    the credential's request budget is spent
    ├── WebServerError          nginx / Apache / Caddy refused or failed
    ├── VerificationError       the server does not serve what it should
    ├── LockedError             another run holds the server lock
    └── RecoveryError           an interrupted run could not be recovered
"""

from __future__ import annotations


class OriginCertError(Exception):
    """Root of every error origincert raises on purpose."""

    exit_status = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        """The message and the hint, as the single line a user reads."""
        if self.hint:
            return f"{self.message}; {self.hint}"
        return self.message


class UsageError(OriginCertError):
    exit_status = 2


class ConfigError(OriginCertError):
    pass


class StateError(OriginCertError):
    pass


class HostnameError(OriginCertError):
    pass


class CloudflareAPIError(OriginCertError):
    """An answer from the Cloudflare API that was not a success."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        code: int | None = None,
        api_message: str | None = None,
        ray_id: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.code = code
        self.api_message = api_message
        self.ray_id = ray_id
        self.status = status


class CredentialError(CloudflareAPIError):
    pass


class PermissionMissingError(CloudflareAPIError):
    pass


class RateLimitedError(CloudflareAPIError):
    pass


class WebServerError(OriginCertError):
    """The web server refused a configuration or a command failed.

    ``output`` keeps the server's own words, which usually name the real cause.
    """

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        command: list[str] | None = None,
        output: str = "",
    ) -> None:
        super().__init__(message, hint=hint)
        self.command = command or []
        self.output = output

    def one_line(self) -> str:
        words = _last_meaningful_line(self.output)
        line = f"{self.message}: {words}" if words else self.message
        return f"{line}; {self.hint}" if self.hint else line


class VerificationError(OriginCertError):
    pass


class LockedError(OriginCertError):
    pass


class RecoveryError(OriginCertError):
    pass


def _last_meaningful_line(output: str) -> str:
    """The line of a server's output that names the problem.

    nginx ends a failed test with "test failed" after the line that matters,
    so prefer the first line that says emerg/error, else the last non-empty one.
    """
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in lines:
        lowered = line.lower()
        if "[emerg]" in lowered or "error" in lowered or "syntax" in lowered:
            return line
    return lines[-1] if lines else ""
