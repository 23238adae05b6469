"""The pre-flight of ``issue``: may this account issue certificates for these zones?

Asked before a key is generated (field case C14): with the report's probes, limited
to the zones of the requested names. A missing permission stops the run with one
line naming it and the zone; what later steps would lack is said, not fatal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from origincert.accounts import permissions, report
from origincert.cloudflare.client import CloudflareClient, Zone
from origincert.cloudflare.credential import TOKEN
from origincert.errors import CredentialError, PermissionMissingError
from origincert.state.models import Account

log = logging.getLogger(__name__)


def check_before_issue(account: Account, client: CloudflareClient, zones: Iterable[Zone],
                       *, progress: Callable[[str], None] = print) -> dict[str, Any]:
    """Refuse, before anything is generated, an account that may not issue for ``zones``.

    Returns the account's last full report (limited to those zones) when issuing is
    allowed everywhere; the issuing permission itself is asked afresh.
    """
    names = sorted({zone.name for zone in zones})
    status = report.credential_status(client, account.kind)
    if status.status != report.ACTIVE:
        raise CredentialError(
            f"the API token of account {account.name} is "
            f"{report.STATUS_WORDS.get(status.status, status.status)}"
            + (f" (expires_on {status.expires_on})" if status.expires_on else ""),
            hint="nothing was generated; create or re-enable a token in the Cloudflare "
                 f"dashboard, then: origincert account remove {account.name} and add it again",
        )
    # One probe per zone: the full report (several calls a zone) is for `account verify`;
    # here every call counts against the rate limit of bulk runs.
    for name in names:
        answer = report.certificate_answer(client, name).to_json()
        if not answer["allowed"]:
            raise _refusal(account, name, answer)
    log.info("pre-flight passed", extra={"account": account.name, "zone": ",".join(names)})
    progress(f"account {account.name} may issue certificates for {', '.join(names)} "
             "(asked Cloudflare)")

    stored = account.report_json or {"zones": []}
    known = {**stored, "zones": [z for z in stored.get("zones", []) if z["name"] in names]}
    for line in report.later_steps(known, names):
        progress(f"later steps need more (from the last `account verify`): {line}")
    return known


def _refusal(account: Account, zone: str, answer: dict[str, Any] | None) -> PermissionMissingError:
    needed = permissions.dashboard_name(permissions.SSL, permissions.EDIT)
    said = f" (Cloudflare: {answer['error']})" if answer and answer.get("error") else ""
    if answer is not None and answer["allowed"] is None:
        message = f"could not find out whether account {account.name} may issue " \
                  f"certificates for {zone}{said}"
    elif account.kind == TOKEN:
        message = (f"account {account.name} may not issue certificates for {zone}: add "
                   f"{needed}, {permissions.zone_resource(zone)}{said}")
    else:
        message = (f"account {account.name} (Global API Key) may not issue certificates for "
                   f"{zone}: its user needs {needed} on {zone}, or connect an API token with "
                   f"it{said}")
    return PermissionMissingError(
        message, hint=f"nothing was generated; see: origincert account verify {account.name}")
