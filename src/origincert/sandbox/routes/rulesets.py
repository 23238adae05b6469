"""Configuration rules: the `http_config_settings` entrypoint ruleset of a zone, enough of it
to set the SSL mode per hostname (field case C02: strict for one hostname, not the zone).

    PUT /zones/{zone_id}/rulesets/phases/http_config_settings/entrypoint
    {"rules": [{"expression": "(http.host eq \\"shop.example.com\\")",
                "action": "set_config", "action_parameters": {"ssl": "strict"}}]}

Cloudflare documents the permission as "Zone → Config Rules → Edit"; the sandbox's token
permissions have no such name, so `zone_settings:edit` grants it here (and
`zone_settings:read` the GET). The sandbox understands host expressions only: `http.host
eq "x"` and `http.host in {"x" "y"}`, parenthesized or not, joined with `or`; anything
else is refused rather than silently ignored. When several enabled rules match a
hostname the last one wins (UNCONFIRMED). Error codes 10003 and 20021 are UNCONFIRMED.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .. import envelope as ev
from ..auth import require
from ..data import SETTING_VALUES
from . import caller_of, context, endpoint, json_body, zone_or_404

PHASE = "http_config_settings"
_NO_ENTRYPOINT = 10003
_INVALID_RULESET = 20021
_HOST_TEST = re.compile(
    r'^\(?\s*http\.host\s+(?:eq\s+"(?P<one>[^"]+)"|in\s+\{(?P<many>[^}]*)\})\s*\)?$')


@endpoint
async def get_entrypoint(request: Request) -> Response:
    zone = zone_or_404(request, request.path_params["zone_id"])
    require(caller_of(request), zone, "zone_settings:read")
    if zone.config_ruleset is None:
        raise ev.ApiError(404, _NO_ENTRYPOINT,
                          f"could not find entrypoint ruleset in the '{PHASE}' phase")
    return ev.success(zone.config_ruleset)


@endpoint
async def put_entrypoint(request: Request) -> Response:
    zone = zone_or_404(request, request.path_params["zone_id"])
    require(caller_of(request), zone, "zone_settings:edit")
    body = await json_body(request)
    rules = body.get("rules", [])
    if not isinstance(rules, list):
        raise _invalid("'rules' must be a list")

    now = ev.timestamp(context(request).world.now())
    parsed = [_rule(index, rule, now) for index, rule in enumerate(rules)]
    previous = zone.config_ruleset
    version = int(previous["version"]) + 1 if previous else 1
    zone.config_ruleset = {
        "id": previous["id"] if previous else uuid.uuid4().hex,
        "name": str(body.get("name", "default")),
        "description": str(body.get("description", "")),
        "kind": "zone",
        "version": str(version),
        "phase": PHASE,
        "last_updated": now,
        "rules": [rule for rule, _ in parsed],
    }
    zone.hostname_ssl = _hostname_ssl(parsed)
    return ev.success(zone.config_ruleset)


def _rule(index: int, rule: Any, now: str) -> tuple[dict, list[str]]:
    """The stored rule and the hostnames its expression names."""
    place = f"rules[{index}]"
    if not isinstance(rule, dict):
        raise _invalid(f"{place} must be an object")
    if rule.get("action") != "set_config":
        raise _invalid(f"{place}.action: the sandbox supports only 'set_config' here")
    parameters = rule.get("action_parameters")
    if not isinstance(parameters, dict):
        raise _invalid(f"{place}.action_parameters must be an object")
    ssl = parameters.get("ssl")
    if ssl is not None and ssl not in SETTING_VALUES["ssl"]:
        raise _invalid(f"{place}.action_parameters.ssl: expected one of "
                       f"{', '.join(SETTING_VALUES['ssl'])}")
    expression = rule.get("expression")
    if not isinstance(expression, str):
        raise _invalid(f"{place}.expression must be a string")
    hostnames = _hostnames(place, expression)

    rule_id = rule.get("id") or uuid.uuid4().hex
    stored = {
        "id": rule_id,
        "version": "1",
        "action": "set_config",
        "action_parameters": parameters,
        "expression": expression,
        "description": str(rule.get("description", "")),
        "enabled": rule.get("enabled", True) is not False,
        "last_updated": now,
        "ref": rule.get("ref") or rule_id,
    }
    return stored, hostnames


def _hostnames(place: str, expression: str) -> list[str]:
    names: list[str] = []
    for part in re.split(r"\s+or\s+", expression.strip()):
        match = _HOST_TEST.match(part.strip())
        if match is None:
            raise _invalid(f"{place}.expression: the sandbox understands only "
                           '`http.host eq "x"` and `http.host in {"x" "y"}` joined with `or`, '
                           f"got {part.strip()!r}")
        if match.group("one"):
            names.append(match.group("one").lower())
        else:
            names += [n.lower() for n in re.findall(r'"([^"]+)"', match.group("many"))]
    return names


def _hostname_ssl(parsed: list[tuple[dict, list[str]]]) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for rule, hostnames in parsed:
        ssl = rule["action_parameters"].get("ssl")
        if rule["enabled"] and ssl is not None:
            overrides.update({hostname: ssl for hostname in hostnames})
    return overrides


def _invalid(message: str) -> ev.ApiError:
    return ev.ApiError(400, _INVALID_RULESET, message)

