"""The lifecycle's settings, read from ``origincert.toml`` (top-level keys, all optional)::

    renew_before_days = 30        # renew what expires within this many days (see below)
    revoke_after_days = 7         # revoke a replaced certificate this long after its
                                  # successor is verified in service; 0 = at once
    expiring_days = 30            # "expiring soon" in `certs` and in the notifications
    webhook_url = "https://hooks.example/origincert"   # POST JSON on failures and expiry
    pre_hook = "systemctl stop monitoring-probe"       # before a site's certificate changes
    post_hook = ["/usr/local/bin/notify", "--done"]    # after it, whatever the outcome
    deploy_hook = "systemctl reload haproxy"           # after a certificate is deployed
    hook_timeout = 300            # seconds a hook may run

A hook is either a string, run by ``sh -c``, or a list, run as it is (argv, no shell).
The command line (``renew --pre-hook/--post-hook/--deploy-hook``) overrides the file.
A short certificate (7 or 30 days) is renewed when a third of its lifetime is left,
if that comes later than ``renew_before_days`` before expiry would: see ``renew.due``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from origincert.errors import ConfigError
from origincert.settings import read_file

Command = tuple[str, ...] | str


@dataclass(frozen=True)
class Hooks:
    pre: Command | None = None
    post: Command | None = None
    deploy: Command | None = None
    timeout: float = 300.0

    def merged(self, *, pre: str | None = None, post: str | None = None,
               deploy: str | None = None) -> Hooks:
        """These hooks with the ones given on the command line put first."""
        return replace(self, pre=pre or self.pre, post=post or self.post,
                       deploy=deploy or self.deploy)


@dataclass(frozen=True)
class LifecycleSettings:
    renew_before_days: int = 30
    revoke_after_days: int = 7
    expiring_days: int = 30
    webhook_url: str | None = None
    hooks: Hooks = field(default_factory=Hooks)


def load(config_file: Path) -> LifecycleSettings:
    """The lifecycle keys of ``config_file``; a missing file means every default."""
    data = read_file(config_file)
    try:
        return LifecycleSettings(
            renew_before_days=_days(data, "renew_before_days", 30),
            revoke_after_days=_days(data, "revoke_after_days", 7),
            expiring_days=_days(data, "expiring_days", 30),
            webhook_url=_text(data, "webhook_url"),
            hooks=Hooks(pre=_command(data, "pre_hook"), post=_command(data, "post_hook"),
                        deploy=_command(data, "deploy_hook"),
                        timeout=float(data.get("hook_timeout", 300))),
        )
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{config_file}: {err}", hint="fix the value or remove the key") \
            from err


def _days(data: dict[str, Any], key: str, default: int) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{key} must be a whole number of days (0 or more), not {value!r}")
    return value


def _text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise TypeError(f"{key} must be a string")
    return value


def _command(data: dict[str, Any], key: str) -> Command | None:
    value = data.get(key)
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        return tuple(value)
    raise ValueError(f"{key} must be a string (run by sh -c) or a list of strings (argv)")
