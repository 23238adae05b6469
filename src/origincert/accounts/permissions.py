"""The product's actions on a zone, the permission each needs, and what its absence costs.

Permissions are named the way Cloudflare's dashboard names them in the token editor
(fact sheet §2.2: "Zone → SSL and Certificates → Edit"). Edit includes Read, so a
missing group is reported once, at the level that gives back every action lost.
"""

from __future__ import annotations

from dataclasses import dataclass

READ = "Read"
EDIT = "Edit"

# Permission groups, in the order the report lists what is missing.
SSL = "SSL and Certificates"
DNS = "DNS"
ZONE_SETTINGS = "Zone Settings"
ZONE = "Zone"
GROUPS = (SSL, DNS, ZONE_SETTINGS, ZONE)


@dataclass(frozen=True)
class Action:
    """One thing origincert does on a zone, and what asking for it proves."""

    key: str  # stable: the key in the JSON report
    label: str  # what the user reads
    group: str
    level: str
    loss: str  # what the user loses without it; {zone} is the zone's name


ACTIONS: tuple[Action, ...] = (
    Action("issue_certificates", "issue certificates", SSL, EDIT,
           "certificates cannot be issued for {zone}"),
    Action("revoke_certificates", "revoke certificates", SSL, EDIT,
           "certificates for {zone} cannot be revoked"),
    Action("list_certificates", "list certificates", SSL, READ,
           "the Origin CA certificates of {zone} cannot be listed or checked"),
    Action("list_dns", "list DNS records", DNS, READ,
           "the proxy status of {zone}'s records cannot be checked"),
    Action("change_proxying", "change DNS proxying", DNS, EDIT,
           "records will not be proxied automatically"),
    Action("read_ssl_settings", "read the SSL mode and HTTPS settings", ZONE_SETTINGS, READ,
           "the SSL mode and HTTPS settings of {zone} cannot be checked"),
    Action("set_ssl_settings", "set the SSL mode and HTTPS settings", ZONE_SETTINGS, EDIT,
           "SSL mode will not be set to Full (strict) automatically, nor the HTTPS settings"),
    Action("authenticated_origin_pulls", "turn on Authenticated Origin Pulls",
           ZONE_SETTINGS, EDIT, "Authenticated Origin Pulls cannot be turned on"),
    Action("read_zone", "read zone details", ZONE, READ,
           "zone details of {zone} cannot be read (and where a zone lookup by name "
           "fails, this is the permission to add)"),
)

ACTION_KEYS = tuple(action.key for action in ACTIONS)
BY_KEY = {action.key: action for action in ACTIONS}


def dashboard_name(group: str, level: str) -> str:
    """``Zone → SSL and Certificates → Edit``, as the token editor shows it."""
    return f"Zone → {group} → {level}"


def zone_resource(zone: str) -> str:
    return f"Zone Resources: include {zone}"


def missing_for(zone: str, denied: set[str]) -> list[dict[str, str]]:
    """What to add for the actions in ``denied``, one entry per permission group.

    A group is asked at Edit level if any of its Edit actions is denied (Edit includes
    Read), at Read level otherwise; the consequences of every denied action are kept.
    """
    missing = []
    for group in GROUPS:
        lost = [a for a in ACTIONS if a.group == group and a.key in denied]
        if not lost:
            continue
        level = EDIT if any(a.level == EDIT for a in lost) else READ
        consequences = []
        for action in lost:
            text = action.loss.format(zone=zone)
            if text not in consequences:
                consequences.append(text)
        missing.append({
            "permission": dashboard_name(group, level),
            "resource": zone_resource(zone),
            "consequence": "; ".join(consequences),
        })
    return missing
