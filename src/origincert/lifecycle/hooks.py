"""Hooks: the user's commands before and after a site's certificate changes, and after deploy.

Each hook runs once per site, through the one runner, with what certbot and
acme.sh users expect in its environment:

    RENEWED_LINEAGE        the folder of the live certificate (cert.pem, privkey.pem)
    RENEWED_DOMAINS        the certificate's hostnames, separated by spaces
    ORIGINCERT_SITE        the site (its first hostname in the server configuration)
    ORIGINCERT_HOSTNAMES   the same hostnames, separated by spaces
    ORIGINCERT_CERT_PATH   the live certificate file the server reads
    ORIGINCERT_KEY_PATH    the live private key file (the path only, never the key)
    ORIGINCERT_CF_ID       the Cloudflare certificate id ("" for an ACME certificate)
    ORIGINCERT_HOOK        pre, post or deploy
    ORIGINCERT_RESULT      post only: "renewed" or "failed"

``pre`` runs before the site's certificate is replaced (a failure skips that
site, reported), ``post`` after, whatever the outcome, and ``deploy`` only
after the new certificate is verified in service. Unlike certbot, pre and post
run once per site, not once per run, so that they too can know the site.

A string hook runs as ``sh -c STRING``; a list runs as that argv. The hook's
environment is origincert's own minus every credential (``CLOUDFLARE_*``,
``ORIGINCERT_SECRET_KEY``): nothing secret is ever passed to a hook. A failing
hook is reported and never stops the other sites.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

from origincert.lifecycle.config import Command
from origincert.runner import run

log = logging.getLogger(__name__)

_SECRET_PREFIXES = ("CLOUDFLARE_", "ORIGINCERT_SECRET_KEY", "ORIGINCERT_VAULT")


@dataclass(frozen=True)
class HookContext:
    site: str
    hostnames: tuple[str, ...]
    lineage_dir: str
    cert_path: str
    key_path: str
    cf_id: str | None

    def environment(self, hook: str, result: str | None = None) -> dict[str, str]:
        names = " ".join(self.hostnames)
        env = {
            "RENEWED_LINEAGE": self.lineage_dir,
            "RENEWED_DOMAINS": names,
            "ORIGINCERT_SITE": self.site,
            "ORIGINCERT_HOSTNAMES": names,
            "ORIGINCERT_CERT_PATH": self.cert_path,
            "ORIGINCERT_KEY_PATH": self.key_path,
            "ORIGINCERT_CF_ID": self.cf_id or "",
            "ORIGINCERT_HOOK": hook,
        }
        if result is not None:
            env["ORIGINCERT_RESULT"] = result
        return env


@dataclass(frozen=True)
class HookOutcome:
    hook: str
    argv: tuple[str, ...]
    ok: bool
    detail: str

    def describe(self) -> str:
        return f"{self.hook} hook {'ran' if self.ok else 'failed'}: {self.detail}"


def argv_of(command: Command) -> tuple[str, ...]:
    return ("sh", "-c", command) if isinstance(command, str) else tuple(command)


def run_hook(hook: str, command: Command | None, context: HookContext, *,
             result: str | None = None, timeout: float = 300.0,
             base_env: Mapping[str, str] | None = None) -> HookOutcome | None:
    """Run one hook for one site; None when no such hook is set."""
    if not command:
        return None
    argv = argv_of(command)
    env = {**safe_environment(base_env), **context.environment(hook, result)}
    done = run(argv, timeout=timeout, env=env)
    if done.ok:
        log.info("hook ran", extra={"hook": hook, "site": context.site})
        return HookOutcome(hook, argv, True, "exit 0")
    words = done.output.splitlines()[-1] if done.output else ""
    detail = f"exit {done.returncode}" + (f": {words}" if words else "")
    log.warning("hook failed", extra={"hook": hook, "site": context.site,
                                      "returncode": done.returncode, "output": done.output})
    return HookOutcome(hook, argv, False, detail)


def safe_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a hook inherits: ours, without any credential."""
    source = os.environ if base is None else base
    return {k: v for k, v in source.items() if not k.startswith(_SECRET_PREFIXES)}
