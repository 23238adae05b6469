"""The connected credential's permissions for the zone (issue 4's report, asked afresh)."""

from __future__ import annotations

from origincert.doctor.checks import zone_check
from origincert.doctor.facts import Facts, Target
from origincert.doctor.findings import ERROR, WARNING, Finding, Fix, finding

# Without these doctor itself is blind for the zone.
_NEEDED_TO_CHECK = ("list_dns", "read_ssl_settings")


@zone_check
def permissions(targets: list[Target], facts: Facts) -> list[Finding]:
    first = targets[0]
    entry = facts.permissions(first)
    missing = entry.get("missing") or []
    if not missing:
        return []
    actions = entry.get("actions") or {}
    blind = [key for key in _NEEDED_TO_CHECK if (actions.get(key) or {}).get("allowed") is False]
    zone = first.zone.name
    evidence = [f"account {first.account}: missing {item['permission']} "
                f"({item['resource']}): {item['consequence']}" for item in missing]
    return [finding(
        "account.permissions", ERROR if blind else WARNING, zone,
        f"the credential of account {first.account} lacks permissions for {zone}", zone=zone,
        case="C14", evidence=evidence,
        explanation=("Cloudflare refuses the calls these permissions allow: issuing, proxying "
                     "or setting the SSL mode fails with an authorization error (1016, "
                     "10000). Found by asking the API, not guessed."),
        fix=Fix("edit the API token in the dashboard (My Profile → API Tokens) and add: "
                + "; ".join(f"{i['permission']} ({i['resource']})" for i in missing),
                command=f"origincert account verify {first.account}"))]
