"""The permission report: what a credential can do, zone by zone, found by asking.

Nothing here is guessed from a token's name or from ``/user/tokens/verify`` alone
(field case C15). Each action is answered by a call that needs exactly its
permission: reads for the read permissions, and for the write permissions a write
that cannot change anything (field cases C14, C15):

- issue / revoke certificates: a certificate request with a CSR no CA can sign;
  refused for its content means the permission is there, unauthorized means not;
- SSL mode and HTTPS settings, Authenticated Origin Pulls: PATCH the ``ssl``
  setting with its current value;
- DNS proxying: PATCH a DNS record with its current values.

Answers found by such a write are marked ``inferred``. Each probe is audited as a
probe. A zone costs at most seven calls; the answers are kept for the run.

JSON shape (stable; ``account verify --json`` prints ``{"accounts": [REPORT, ...]}``)::

    REPORT = {
      "name": str, "kind": "token" | "global_key", "email": str | null,
      "status": "active" | "expired" | "disabled" | "not_yet_valid" | "invalid",
      "expires_on": str | null, "not_before": str | null, "checked_at": str,
      "zones": [ZONE, ...],             # the zones the credential reaches, by name
      "can_issue": [zone name, ...],    # zones where issuing certificates is allowed
      "notes": [str, ...],
    }
    ZONE = {
      "name": str, "id": str, "status": str,   # the zone's own status (active, pending)
      "actions": {ACTION_KEY: {"allowed": bool | null, "inferred": bool, "via": str,
                               "error": str | null}, ...},
      "missing": [{"permission": str, "resource": str, "consequence": str}, ...],
    }

``ACTION_KEY`` is one of ``permissions.ACTION_KEYS``. ``allowed`` is null when the
API gave no usable answer (``error`` says why) or nothing could be asked (a zone
with no DNS record to re-submit).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from origincert.accounts import permissions
from origincert.cloudflare.client import CloudflareClient, ProbeAnswer, Zone
from origincert.cloudflare.credential import TOKEN
from origincert.errors import (
    CloudflareAPIError,
    CredentialError,
    PermissionMissingError,
    RateLimitedError,
)

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

# More zones than this are listed but not probed in one run: the API budget is
# 1200 calls per 5 minutes (C18), and a zone costs up to seven.
MAX_PROBED_ZONES = 25

ACTIVE = "active"
STATUS_WORDS = {"active": "active", "expired": "expired", "disabled": "disabled",
                "not_yet_valid": "not yet valid", "invalid": "not accepted by Cloudflare"}

# A certificate request refused with this message names a zone out of reach (§1.4).
_OUT_OF_REACH = ("not part of your account", "do not have access")


@dataclass(frozen=True)
class Answer:
    allowed: bool | None
    inferred: bool
    via: str
    error: CloudflareAPIError | None = None

    def to_json(self) -> dict[str, Any]:
        return {"allowed": self.allowed, "inferred": self.inferred, "via": self.via,
                "error": self.error.message if self.error is not None else None}


@dataclass(frozen=True)
class Status:
    """Whether the credential authenticates at all, and for how long."""

    status: str
    expires_on: str | None = None
    not_before: str | None = None


class Prober:
    """Asks the API what one credential may do; answers are kept for the run."""

    def __init__(self, client: CloudflareClient) -> None:
        self.client = client
        self._zones: dict[str, dict[str, Answer]] = {}

    def answers(self, zone: Zone) -> dict[str, Answer]:
        if zone.id not in self._zones:
            log.info("probing permissions", extra={"zone": zone.name})
            self._zones[zone.id] = self._probe(zone)
        return self._zones[zone.id]

    def _probe(self, zone: Zone) -> dict[str, Answer]:
        client, found = self.client, {}
        found["read_zone"] = _read(lambda: client.get_zone(zone.id), "GET /zones/{id}")[1]

        # SSL mode and HTTPS settings; Authenticated Origin Pulls is the tls_client_auth
        # setting, so it needs the same permission as the ssl setting.
        value, read = _read(lambda: client.get_setting(zone.id, "ssl"),
                            "GET /zones/{id}/settings/ssl")
        found["read_ssl_settings"] = read
        if read.allowed:
            found["set_ssl_settings"] = _write(
                client.probe_setting_edit(zone.id, zone.name, "ssl", value),
                "PATCH /zones/{id}/settings/ssl with its current value")
        else:
            found["set_ssl_settings"] = _without_read(read, "reading the ssl setting")
        edit = found["set_ssl_settings"]
        found["authenticated_origin_pulls"] = Answer(
            edit.allowed, True, "same permission as setting the SSL mode (tls_client_auth "
            "is a zone setting)", edit.error)

        # DNS: list one record, re-submit it unchanged.
        records, listed = _read(lambda: client.dns_records_page(zone.id, per_page=1),
                                "GET /zones/{id}/dns_records?per_page=1")
        found["list_dns"] = listed
        if listed.allowed and records:
            found["change_proxying"] = _write(
                client.probe_dns_edit(zone.id, zone.name, records[0]),
                "PATCH /zones/{id}/dns_records/{record} with its current values")
        elif listed.allowed:
            found["change_proxying"] = Answer(None, False,
                                              "the zone has no DNS record to re-submit")
        else:
            found["change_proxying"] = _without_read(listed, "listing DNS records")

        # Origin CA: list, and a request no CA can sign.
        found["list_certificates"] = _read(lambda: client.origin_certificates_page(zone.id),
                                           "GET /certificates?zone_id={id}")[1]
        issue = _certificate_answer(client.probe_certificate_request(zone.name))
        found["issue_certificates"] = issue
        found["revoke_certificates"] = Answer(
            issue.allowed, True, "same permission as issuing (SSL and Certificates → Edit)",
            issue.error)
        return {key: found[key] for key in permissions.ACTION_KEYS}


def _read(call: Callable[[], Any], via: str) -> tuple[Any, Answer]:
    """A read call: its result and what it says about the permission."""
    try:
        return call(), Answer(True, False, via)
    except (RateLimitedError, CredentialError):
        raise  # never a permission answer (C18); a dead credential ends the report
    except PermissionMissingError as err:
        return None, Answer(False, False, via, err)
    except CloudflareAPIError as err:
        if err.status == 403:
            return None, Answer(False, False, via, err)
        if err.status is None:
            raise
        return None, Answer(None, False, via, err)


def _write(answer: ProbeAnswer, via: str) -> Answer:
    """A write that cannot change anything: refused as unauthorized means no permission."""
    err = answer.error
    if answer.accepted or err is None:
        return Answer(True, True, via)
    if isinstance(err, CredentialError):
        raise err
    if isinstance(err, PermissionMissingError) or err.status in (401, 403):
        return Answer(False, True, via, err)
    if err.status is None or err.status >= 500:
        return Answer(None, True, f"{via}: no usable answer ({_code(err)})", err)
    # Past the permission check, refused for another reason: the permission is there.
    return Answer(True, True, f"{via}: refused for its content ({_code(err)})", err)


def certificate_answer(client: CloudflareClient, zone_name: str) -> Answer:
    """May this credential issue certificates in the zone? One request, nothing issued."""
    return _certificate_answer(client.probe_certificate_request(zone_name))


def _certificate_answer(answer: ProbeAnswer) -> Answer:
    via = "POST /certificates with an invalid CSR"
    err = answer.error
    if err is not None and not isinstance(err, (PermissionMissingError, CredentialError)):
        text = (err.api_message or "").lower()
        if any(words in text for words in _OUT_OF_REACH):
            return Answer(False, True, via, err)
    found = _write(answer, via)
    if found.allowed and err is not None:
        # Keep the report readable: the expected refusal is not an error to show.
        return Answer(True, True, found.via)
    return found


def _without_read(read: Answer, what: str) -> Answer:
    """Edit includes Read: when the read was refused, the edit is refused too."""
    if read.allowed is None:
        return Answer(None, False, f"not asked: {what} failed", read.error)
    return Answer(False, True, f"Edit includes Read, and {what} was refused", read.error)


def _code(err: CloudflareAPIError) -> str:
    return f"code {err.code}" if err.code is not None else f"HTTP {err.status}"


def credential_status(client: CloudflareClient, kind: str,
                      clock: Clock | None = None) -> Status:
    """Whether the credential authenticates; a token's status and validity window.

    ``/user/tokens/verify`` has no "not yet valid" status: such a token says
    "active" with a future ``not_before`` (and an expired one may still say
    "active" with a past ``expires_on``), so both dates are checked here.
    """
    if kind != TOKEN:
        client.zones()  # a bad key or email fails here with its own error
        return Status(ACTIVE)
    found = client.verify_token()
    now = (clock or _now)()
    status = found.status
    if status == ACTIVE and _moment(found.not_before) and _moment(found.not_before) > now:
        status = "not_yet_valid"
    if status == ACTIVE and _moment(found.expires_on) and _moment(found.expires_on) <= now:
        status = "expired"
    return Status(status, found.expires_on, found.not_before)


def build(client: CloudflareClient, *, name: str, kind: str, email: str | None,
          only_zones: Iterable[str] | None = None, prober: Prober | None = None,
          status: Status | None = None, clock: Clock | None = None) -> dict[str, Any]:
    """The permission report of one credential (the shape in this module's docstring)."""
    status = status or credential_status(client, kind, clock)
    report: dict[str, Any] = {
        "name": name, "kind": kind, "email": email, "status": status.status,
        "expires_on": status.expires_on, "not_before": status.not_before,
        "checked_at": (clock or _now)().isoformat(timespec="seconds"),
        "zones": [], "can_issue": [], "notes": [],
    }
    if status.status != ACTIVE:
        word = STATUS_WORDS.get(status.status, status.status)
        report["notes"].append(f"the API token is {word}: no call can be made with it")
        return report

    zones = sorted(client.zones(), key=lambda zone: zone.name)
    if only_zones is not None:
        wanted = set(only_zones)
        zones = [zone for zone in zones if zone.name in wanted]
    if not zones:
        report["notes"].append(
            "the credential reaches no zone: add the zone under Zone Resources, with "
            "Zone → Zone → Read if a zone lookup by name fails")
    prober = prober or Prober(client)
    for index, zone in enumerate(zones):
        if index >= MAX_PROBED_ZONES:
            report["notes"].append(
                f"{len(zones) - index} more zones not probed in this run (API budget); "
                "name one with --zone")
            break
        report["zones"].append(zone_entry(zone, prober.answers(zone)))

    report["can_issue"] = [z["name"] for z in report["zones"]
                           if z["actions"]["issue_certificates"]["allowed"]]
    if kind != TOKEN and any(z["missing"] for z in report["zones"]):
        report["notes"].append(
            "a Global API Key has every permission of its user: a refusal means the user's "
            "membership lacks it, or the call does not take the key; an API token with the "
            "named permission works")
    return report


def build_refused(name: str, kind: str, email: str | None, err: CloudflareAPIError,
                  clock: Clock | None = None) -> dict[str, Any]:
    """The report of a stored credential that no longer authenticates at all."""
    return {
        "name": name, "kind": kind, "email": email, "status": "invalid",
        "expires_on": None, "not_before": None,
        "checked_at": (clock or _now)().isoformat(timespec="seconds"),
        "zones": [], "can_issue": [], "notes": [err.one_line()],
    }


def zone_entry(zone: Zone, answers: dict[str, Answer]) -> dict[str, Any]:
    denied = {key for key, answer in answers.items() if answer.allowed is False}
    return {
        "name": zone.name, "id": zone.id, "status": zone.status,
        "actions": {key: answer.to_json() for key, answer in answers.items()},
        "missing": permissions.missing_for(zone.name, denied),
    }


def later_steps(report: dict[str, Any], zone_names: Iterable[str] | None = None) -> list[str]:
    """For zones where issuing works: what later steps still need, one line each."""
    wanted = None if zone_names is None else set(zone_names)
    lines = []
    for zone in report["zones"]:
        if wanted is not None and zone["name"] not in wanted:
            continue
        if not zone["actions"]["issue_certificates"]["allowed"]:
            continue
        for item in zone["missing"]:
            lines.append(f"{zone['name']}: {item['consequence']} "
                         f"(add {item['permission']}, {item['resource']})")
    return lines


def render(report: dict[str, Any], *, fingerprint: str | None = None) -> list[str]:
    """The report as lines a person reads."""
    kind = "API token" if report["kind"] == TOKEN else "Global API Key"
    who = f" of {report['email']}" if report.get("email") else ""
    validity = ""
    if report.get("expires_on"):
        validity += f", expires {report['expires_on']}"
    if report.get("not_before"):
        validity += f", valid from {report['not_before']}"
    shown = f", fingerprint {fingerprint}" if fingerprint else ""
    status = STATUS_WORDS.get(report["status"], report["status"])
    lines = [f"account {report['name']}: {kind}{who}{shown}, {status}{validity}"]

    for zone in report["zones"]:
        pending = "" if zone["status"] == ACTIVE else f" (zone {zone['status']})"
        lines.append(f"  zone {zone['name']}{pending}")
        for key, answer in zone["actions"].items():
            mark = {True: "yes", False: "no ", None: "?  "}[answer["allowed"]]
            how = f"  [{answer['via']}{', inferred' if answer['inferred'] else ''}]"
            lines.append(f"    {mark} {permissions.BY_KEY[key].label}{how}")
            if answer["allowed"] is None and answer["error"]:
                lines.append(f"        {answer['error']}")
        for item in zone["missing"]:
            lines.append(f"    to add: {item['permission']}, {item['resource']}")
            lines.append(f"      without it: {item['consequence']}")
    if report["status"] == ACTIVE and report["zones"]:
        issuing = ", ".join(report["can_issue"]) or "no zone"
        lines.append(f"  issuing certificates works for: {issuing}")
        later = sorted({item["permission"] for zone in report["zones"]
                        if zone["actions"]["issue_certificates"]["allowed"]
                        for item in zone["missing"]})
        if later:
            lines.append(f"  later steps need more: {', '.join(later)} (see 'to add' above)")
    lines.extend(f"  note: {note}" for note in report["notes"])
    return lines


def _moment(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _now() -> datetime:
    return datetime.now(UTC)
