"""The sandbox's world: accounts, users, tokens, zones, DNS records and certificates.

`load_world` reads the JSON format of `shared/fixtures/zones/README.md` and refuses a
malformed file with the file, the JSON path of the mistake and what is wrong, before the
sandbox serves anything. One key is ours: a token's optional `owner`, the email of the
user whose rate limit it shares (without it, a token is account-owned: its own limit).
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

PERMISSIONS = (
    "zone:read",
    "zone_settings:read",
    "zone_settings:edit",
    "dns_records:read",
    "dns_records:edit",
    "ssl:read",
    "ssl:edit",
)
TOKEN_STATUSES = ("active", "disabled")
ZONE_STATUSES = ("initializing", "pending", "active", "moved")
PLANS = ("free", "pro", "business", "enterprise")
DNS_TYPES = (
    "A", "AAAA", "CAA", "CERT", "CNAME", "DNSKEY", "DS", "HTTPS", "LOC", "MX", "NAPTR",
    "NS", "OPENPGPKEY", "PTR", "SMIMEA", "SRV", "SSHFP", "SVCB", "TLSA", "TXT", "URI",
)

# Values each zone setting accepts (fact sheet §6). `origin_pull` is Enterprise only.
SETTING_VALUES: dict[str, tuple[str, ...]] = {
    "ssl": ("off", "flexible", "full", "strict", "origin_pull"),
    "always_use_https": ("on", "off"),
    "automatic_https_rewrites": ("on", "off"),
    "min_tls_version": ("1.0", "1.1", "1.2", "1.3"),
    "tls_1_3": ("on", "off", "zrt"),
    "tls_client_auth": ("on", "off"),
}
SETTING_DEFAULTS = {
    "ssl": "off",
    "always_use_https": "off",
    "automatic_https_rewrites": "off",
    "min_tls_version": "1.0",
    "tls_1_3": "off",
    "tls_client_auth": "off",
}

_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Fixed creation time of everything loaded from the data file, so that objects look
# the same across restarts.
_LOADED_ON = datetime(2024, 1, 1, tzinfo=timezone.utc)
_RECORD_NAMESPACE = uuid.UUID("6f1c2b1e-5a0d-4c55-9a43-0c5e1d7a1b00")


class SandboxDataError(ValueError):
    """The sandbox data file is malformed; the message names the file, place and problem."""


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Account:
    id: str
    name: str


@dataclass
class User:
    email: str
    global_api_key: str
    accounts: list[str]


@dataclass
class Policy:
    permissions: set[str]
    zones: list[str]

    def covers(self, zone: "Zone") -> bool:
        return zone.name in self.zones or f"account:{zone.account_id}" in self.zones


@dataclass
class Token:
    id: str
    name: str
    value: str
    status: str
    policies: list[Policy]
    expires_on: datetime | None = None
    not_before: datetime | None = None
    # The email of the user who owns the token (its requests count with theirs, fact
    # sheet §4); none for an account-owned token, counted on its own.
    owner: str | None = None

    def state(self, now: datetime) -> str:
        """One of active, disabled, expired, not_yet_valid at `now`."""
        if self.status == "disabled":
            return "disabled"
        if self.expires_on is not None and now >= self.expires_on:
            return "expired"
        if self.not_before is not None and now < self.not_before:
            return "not_yet_valid"
        return "active"


@dataclass
class DnsRecord:
    id: str
    type: str
    name: str
    content: str
    proxied: bool
    ttl: int
    priority: int | None = None
    comment: str | None = None
    tags: list[str] = field(default_factory=list)
    created_on: datetime = _LOADED_ON
    modified_on: datetime = _LOADED_ON


@dataclass
class Setting:
    value: str
    modified_on: datetime | None = None
    editable: bool = True


@dataclass
class Zone:
    id: str
    name: str
    account_id: str
    status: str
    plan: str
    settings: dict[str, Setting]
    dns_records: list[DnsRecord]
    created_on: datetime = _LOADED_ON
    modified_on: datetime = _LOADED_ON
    paused: bool = False
    # Per-hostname SSL mode overrides (configuration rules), hostname -> ssl value.
    hostname_ssl: dict[str, str] = field(default_factory=dict)
    # The http_config_settings entrypoint ruleset as last PUT, or None.
    config_ruleset: dict | None = None

    def record(self, record_id: str) -> DnsRecord | None:
        return next((r for r in self.dns_records if r.id == record_id), None)


@dataclass
class Certificate:
    id: str
    certificate: str
    csr: str
    hostnames: list[str]
    request_type: str
    requested_validity: int
    expires_on: datetime
    zone_ids: list[str]
    revoked_at: datetime | None = None


@dataclass
class World:
    """Everything the sandbox serves; tests may inspect and change it between calls."""

    accounts: list[Account]
    users: list[User]
    tokens: list[Token]
    zones: list[Zone]
    certificates: dict[str, Certificate] = field(default_factory=dict)
    clock: Callable[[], datetime] = utc_now

    def now(self) -> datetime:
        return self.clock()

    def account(self, account_id: str) -> Account | None:
        return next((a for a in self.accounts if a.id == account_id), None)

    def zone(self, zone_id: str) -> Zone | None:
        return next((z for z in self.zones if z.id == zone_id), None)

    def zone_by_name(self, name: str) -> Zone | None:
        return next((z for z in self.zones if z.name == name), None)

    def zone_for_hostname(self, hostname: str) -> Zone | None:
        """The zone holding `hostname` (the longest matching zone name wins)."""
        bare = hostname[2:] if hostname.startswith("*.") else hostname
        matches = [z for z in self.zones if bare == z.name or bare.endswith("." + z.name)]
        return max(matches, key=lambda z: len(z.name), default=None)

    def ssl_mode_for(self, zone: Zone, hostname: str) -> str:
        """The SSL mode the edge uses for `hostname`: a per-hostname configuration rule if
        one matches, else the zone's `ssl` setting."""
        return zone.hostname_ssl.get(hostname.lower(), zone.settings["ssl"].value)

    def token(self, value: str) -> Token | None:
        return next((t for t in self.tokens if t.value == value), None)

    def user(self, email: str) -> User | None:
        return next((u for u in self.users if u.email.lower() == email.lower()), None)


# --- loading -----------------------------------------------------------------------------


class _Reader:
    """Walks the parsed JSON and reports mistakes with their JSON path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, place: str, problem: str) -> SandboxDataError:
        return SandboxDataError(f"{self.source}: {place}: {problem}")

    def get(self, obj: dict, key: str, place: str, kind: type | tuple, required=True) -> Any:
        if key not in obj:
            if required:
                raise self.fail(place, f"missing required key {key!r}")
            return None
        value = obj[key]
        if not _is_kind(value, kind):
            raise self.fail(f"{place}.{key}", f"expected {_kind_name(kind)}, got {_show(value)}")
        return value

    def choice(self, obj: dict, key: str, place: str, allowed: tuple[str, ...]) -> str:
        value = self.get(obj, key, place, str)
        if value not in allowed:
            listed = ", ".join(allowed)
            raise self.fail(f"{place}.{key}", f"expected one of {listed}, got {_show(value)}")
        return value

    def objects(self, obj: dict, key: str, place: str) -> list[tuple[str, dict]]:
        items = self.get(obj, key, place, list)
        out = []
        for index, item in enumerate(items):
            item_place = f"{key}[{index}]" if place == "$" else f"{place}.{key}[{index}]"
            if not isinstance(item, dict):
                raise self.fail(item_place, f"expected an object, got {_show(item)}")
            out.append((item_place, item))
        return out

    def timestamp(self, obj: dict, key: str, place: str) -> datetime | None:
        text = self.get(obj, key, place, str, required=False)
        if text is None:
            return None
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as err:
            problem = f"expected an RFC 3339 time, got {_show(text)}"
            raise self.fail(f"{place}.{key}", problem) from err
        if parsed.tzinfo is None:
            raise self.fail(f"{place}.{key}", f"time {_show(text)} has no UTC offset")
        return parsed


def _is_kind(value: Any, kind: type | tuple) -> bool:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        return False
    return isinstance(value, kinds)


def _kind_name(kind: type | tuple) -> str:
    names = {str: "a string", int: "an integer", bool: "true or false", list: "a list",
             dict: "an object"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _show(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def load_world(path: str | Path, clock: Callable[[], datetime] = utc_now) -> World:
    """Read and check a sandbox data file; raise SandboxDataError when it is malformed."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise SandboxDataError(f"{path}: cannot read the data file: {err.strerror}") from err

    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        place = f"line {err.lineno} column {err.colno}"
        raise SandboxDataError(f"{path}: {place}: invalid JSON: {err.msg}") from err

    return parse_world(raw, source=str(path), clock=clock)


def parse_world(raw: Any, source: str = "<data>", clock: Callable[[], datetime] = utc_now) -> World:
    """Build a World from already-parsed JSON, with the same checks as load_world."""
    reader = _Reader(source)
    if not isinstance(raw, dict):
        raise reader.fail("$", f"expected an object at the top, got {_show(raw)}")

    accounts = [_account(reader, place, item)
                for place, item in reader.objects(raw, "accounts", "$")]
    _unique(reader, [(f"accounts[{i}].id", a.id) for i, a in enumerate(accounts)])
    account_ids = {a.id for a in accounts}

    users = [_user(reader, place, item, account_ids)
             for place, item in reader.objects(raw, "users", "$")]
    _unique(reader, [(f"users[{i}].email", u.email.lower()) for i, u in enumerate(users)])

    zones = [_zone(reader, place, item, account_ids)
             for place, item in reader.objects(raw, "zones", "$")]
    _unique(reader, [(f"zones[{i}].id", z.id) for i, z in enumerate(zones)])
    _unique(reader, [(f"zones[{i}].name", z.name) for i, z in enumerate(zones)])

    zone_names = {z.name for z in zones}
    emails = {u.email.lower() for u in users}
    tokens = [_token(reader, place, item, account_ids, zone_names, emails)
              for place, item in reader.objects(raw, "tokens", "$")]
    _unique(reader, [(f"tokens[{i}].value", t.value) for i, t in enumerate(tokens)])

    return World(accounts=accounts, users=users, tokens=tokens, zones=zones, clock=clock)


def _unique(reader: _Reader, keyed: list[tuple[str, str]]) -> None:
    seen: set[str] = set()
    for place, key in keyed:
        if key in seen:
            raise reader.fail(place, f"duplicate value {_show(key)}")
        seen.add(key)


def _hex_id(reader: _Reader, obj: dict, key: str, place: str) -> str:
    value = reader.get(obj, key, place, str)
    if not _HEX32.match(value):
        raise reader.fail(f"{place}.{key}", f"expected 32 lowercase hex digits, got {_show(value)}")
    return value


def _account(reader: _Reader, place: str, item: dict) -> Account:
    return Account(id=_hex_id(reader, item, "id", place), name=reader.get(item, "name", place, str))


def _user(reader: _Reader, place: str, item: dict, account_ids: set[str]) -> User:
    email = reader.get(item, "email", place, str)
    if not _EMAIL.match(email):
        raise reader.fail(f"{place}.email", f"expected an email address, got {_show(email)}")
    key = reader.get(item, "global_api_key", place, str)
    accounts = reader.get(item, "accounts", place, list)
    for index, account_id in enumerate(accounts):
        if account_id not in account_ids:
            raise reader.fail(f"{place}.accounts[{index}]", f"unknown account {_show(account_id)}")
    return User(email=email, global_api_key=key, accounts=list(accounts))


def _token(reader: _Reader, place: str, item: dict, account_ids: set, zone_names: set,
           emails: set) -> Token:
    value = reader.get(item, "value", place, str)
    if not value:
        raise reader.fail(f"{place}.value", "the token value is empty")
    owner = reader.get(item, "owner", place, str, required=False)
    if owner is not None and owner.lower() not in emails:
        raise reader.fail(f"{place}.owner", f"no user has the email {_show(owner)}")
    policies = [_policy(reader, p_place, p_item, account_ids, zone_names)
                for p_place, p_item in reader.objects(item, "policies", place)]
    return Token(
        # A stable 32-hex id derived from the secret, as verify reports an id, not the value.
        id=uuid.uuid5(_RECORD_NAMESPACE, "token:" + value).hex,
        name=reader.get(item, "name", place, str),
        value=value,
        status=reader.choice(item, "status", place, TOKEN_STATUSES),
        policies=policies,
        expires_on=reader.timestamp(item, "expires_on", place),
        not_before=reader.timestamp(item, "not_before", place),
        owner=owner,
    )


def _policy(reader: _Reader, place: str, item: dict, account_ids: set, zone_names: set) -> Policy:
    permissions = reader.get(item, "permissions", place, list)
    for index, permission in enumerate(permissions):
        if permission not in PERMISSIONS:
            listed = ", ".join(PERMISSIONS)
            raise reader.fail(f"{place}.permissions[{index}]",
                              f"expected one of {listed}, got {_show(permission)}")
    zones = reader.get(item, "zones", place, list)
    for index, selector in enumerate(zones):
        zone_place = f"{place}.zones[{index}]"
        if not isinstance(selector, str):
            raise reader.fail(zone_place, f"expected a string, got {_show(selector)}")
        if selector.startswith("account:"):
            if selector[len("account:"):] not in account_ids:
                raise reader.fail(zone_place, f"unknown account in {_show(selector)}")
        elif selector not in zone_names:
            raise reader.fail(zone_place, f"unknown zone {_show(selector)}")
    return Policy(permissions=_with_implied(permissions), zones=list(zones))


def _with_implied(permissions: list[str]) -> set[str]:
    """`edit` implies `read` for the same group."""
    granted = set(permissions)
    for permission in permissions:
        group, _, level = permission.partition(":")
        if level == "edit":
            granted.add(f"{group}:read")
    return granted


def _zone(reader: _Reader, place: str, item: dict, account_ids: set[str]) -> Zone:
    zone_id = _hex_id(reader, item, "id", place)
    name = reader.get(item, "name", place, str).lower()
    account_id = reader.get(item, "account", place, str)
    if account_id not in account_ids:
        raise reader.fail(f"{place}.account", f"unknown account {_show(account_id)}")

    settings = {key: Setting(value) for key, value in SETTING_DEFAULTS.items()}
    raw_settings = reader.get(item, "settings", place, dict, required=False) or {}
    for key, value in raw_settings.items():
        settings[key] = Setting(_setting_value(reader, f"{place}.settings.{key}", key, value))

    records = [_record(reader, r_place, r_item, zone_id, name, index)
               for index, (r_place, r_item)
               in enumerate(reader.objects(item, "dns_records", place))]
    return Zone(
        id=zone_id,
        name=name,
        account_id=account_id,
        status=reader.choice(item, "status", place, ZONE_STATUSES),
        plan=reader.choice(item, "plan", place, PLANS),
        settings=settings,
        dns_records=records,
    )


def _setting_value(reader: _Reader, place: str, key: str, value: Any) -> str:
    if key not in SETTING_VALUES:
        listed = ", ".join(SETTING_VALUES)
        raise reader.fail(place, f"unknown setting; expected one of {listed}")
    if value not in SETTING_VALUES[key]:
        listed = ", ".join(SETTING_VALUES[key])
        raise reader.fail(place, f"expected one of {listed}, got {_show(value)}")
    return value


def _record(reader: _Reader, place: str, item: dict, zone_id: str, zone: str,
            index: int) -> DnsRecord:
    record_type = reader.choice(item, "type", place, DNS_TYPES)
    name = reader.get(item, "name", place, str).lower()
    if name != zone and not name.endswith("." + zone):
        raise reader.fail(f"{place}.name", f"{_show(name)} is not inside zone {zone}")

    ttl = reader.get(item, "ttl", place, int)
    if ttl != 1 and not 30 <= ttl <= 86400:
        raise reader.fail(f"{place}.ttl", f"expected 1 (automatic) or 30..86400, got {ttl}")

    priority = reader.get(item, "priority", place, int, required=record_type == "MX")
    record_id = reader.get(item, "id", place, str, required=False)
    return DnsRecord(
        # Derived from the zone and position so that ids survive restarts of the sandbox.
        id=record_id or uuid.uuid5(_RECORD_NAMESPACE, f"{zone_id}/{index}").hex,
        type=record_type,
        name=name,
        content=reader.get(item, "content", place, str),
        proxied=reader.get(item, "proxied", place, bool),
        ttl=ttl,
        priority=priority,
        comment=reader.get(item, "comment", place, str, required=False),
        tags=list(reader.get(item, "tags", place, list, required=False) or []),
    )
