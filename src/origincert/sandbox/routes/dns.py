"""DNS records of a zone: list, create (POST), partial update (PATCH), full replace (PUT)
and delete (DELETE) (§7)."""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import replace

from starlette.requests import Request
from starlette.responses import Response

from .. import envelope as ev
from ..auth import require
from ..data import DNS_TYPES, DnsRecord, Zone
from . import (bool_param, caller_of, context, endpoint, int_param, invalid, json_body,
               zone_or_404)

PROXIABLE_TYPES = ("A", "AAAA", "CNAME")

# Targets that can never be proxied. The documentation ranges (192.0.2.0/24,
# 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) are deliberately absent: Python's
# `is_private` counts them, but the sandbox data uses them as stand-ins for public
# origin addresses, so they must stay proxiable.
_UNPROXIABLE = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/4", "240.0.0.0/4",
    "::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8",
)]

_RECORD_NOT_FOUND = (404, ev.RECORD_NOT_FOUND, "Record does not exist.")
# Conflicts on create: codes UNCONFIRMED (81053 and 81058 are what users report).
_HOST_TAKEN = 81053
_IDENTICAL = 81058


@endpoint
async def list_records(request: Request) -> Response:
    caller = caller_of(request)
    zone = zone_or_404(request, request.path_params["zone_id"])
    require(caller, zone, "dns_records:read")
    page = int_param(request, "page", 1, 1, 1_000_000)
    per_page = int_param(request, "per_page", 100, 1, 5_000_000)
    proxied = bool_param(request, "proxied")

    records = [r for r in zone.dns_records if _matches(request, r, zone, proxied)]
    # Default order is by type (§7); the sort is stable, so zone order holds within a type.
    records.sort(key=lambda r: r.type)
    chosen, info = ev.paginate(records, page, per_page)
    return ev.success([record_object(r) for r in chosen], result_info=info)


def _matches(request: Request, record: DnsRecord, zone: Zone, proxied: bool | None) -> bool:
    query = request.query_params
    for key in ("name", "name.exact"):
        if key in query and _full_name(query[key], zone) != record.name:
            return False
    name_tests = {
        "name.contains": lambda v: v.lower() in record.name,
        "name.startswith": lambda v: record.name.startswith(v.lower()),
        "name.endswith": lambda v: record.name.endswith(v.lower()),
        "content": lambda v: v == record.content,
        "content.exact": lambda v: v == record.content,
    }
    for key, test in name_tests.items():
        if key in query and not test(query[key]):
            return False
    if "type" in query and query["type"].upper() != record.type:
        return False
    return proxied is None or proxied == record.proxied


def _full_name(name: str, zone: Zone) -> str:
    name = name.strip().rstrip(".").lower()
    return zone.name if name == "@" else name


@endpoint
async def create_record(request: Request) -> Response:
    caller = caller_of(request)
    zone = zone_or_404(request, request.path_params["zone_id"])
    require(caller, zone, "dns_records:edit")

    body = await json_body(request)
    missing = [k for k in ("type", "name", "content") if k not in body]
    if missing:
        raise invalid(f"Missing required field(s): {', '.join(missing)}")
    record_type = _field(body, "type", str).upper()
    if record_type not in DNS_TYPES:
        raise invalid(f"Unsupported DNS record type {record_type!r}")
    if record_type == "MX" and "priority" not in body:
        raise invalid("Field 'priority' is required for MX records")

    now = context(request).world.now()
    blank = DnsRecord(id=uuid.uuid4().hex, type=record_type, name=zone.name, content="",
                      proxied=False, ttl=1, created_on=now, modified_on=now)
    candidate = _apply(blank, {**body, "type": record_type}, zone)
    _check_proxying(candidate)
    if candidate.proxied:
        candidate.ttl = 1
    _check_conflicts(candidate, zone)

    zone.dns_records.append(candidate)
    return ev.success(record_object(candidate))


@endpoint
async def delete_record(request: Request) -> Response:
    caller = caller_of(request)
    zone = zone_or_404(request, request.path_params["zone_id"])
    require(caller, zone, "dns_records:edit")
    record = zone.record(request.path_params["record_id"])
    if record is None:
        raise ev.ApiError(*_RECORD_NOT_FOUND)

    zone.dns_records.remove(record)
    return ev.success({"id": record.id})


def _check_conflicts(record: DnsRecord, zone: Zone) -> None:
    """A CNAME shares its name with nothing; an identical record is not made twice."""
    same_name = [r for r in zone.dns_records if r.name == record.name]
    if any(r.type == record.type and r.content == record.content for r in same_name):
        raise ev.ApiError(400, _IDENTICAL, "An identical record already exists.")
    address_types = ("A", "AAAA", "CNAME")
    clash = [r for r in same_name if r.type in address_types and record.type in address_types
             and "CNAME" in (r.type, record.type)]
    if clash:
        raise ev.ApiError(400, _HOST_TAKEN,
                          "An A, AAAA, or CNAME record with that host already exists.")


@endpoint
async def edit_record(request: Request) -> Response:
    return await _change(request, full=False)


@endpoint
async def replace_record(request: Request) -> Response:
    return await _change(request, full=True)


async def _change(request: Request, full: bool) -> Response:
    caller = caller_of(request)
    zone = zone_or_404(request, request.path_params["zone_id"])
    require(caller, zone, "dns_records:edit")
    record = zone.record(request.path_params["record_id"])
    if record is None:
        raise ev.ApiError(*_RECORD_NOT_FOUND)

    body = await json_body(request)
    if full:
        missing = [k for k in ("type", "name", "content") if k not in body]
        if missing:
            raise invalid(f"Missing required field(s): {', '.join(missing)}")
        body.setdefault("ttl", 1)
        body.setdefault("proxied", False)

    candidate = _apply(record, body, zone)
    _check_proxying(candidate)
    if candidate.proxied:
        # Proxied records always have TTL Auto (§7).
        candidate.ttl = 1

    now = context(request).world.now()
    candidate.modified_on = now
    zone.dns_records[zone.dns_records.index(record)] = candidate
    return ev.success(record_object(candidate))


def _apply(record: DnsRecord, body: dict, zone: Zone) -> DnsRecord:
    """A copy of `record` with the body's fields, each checked for type and range."""
    changed = replace(record, tags=list(record.tags))
    if "type" in body:
        new_type = _field(body, "type", str).upper()
        # Changing a record's type in place stopped being supported after 2026-06-30.
        if new_type != record.type:
            raise invalid("Changing the type of an existing DNS record is not supported")
    if "name" in body:
        changed.name = _name_in_zone(_field(body, "name", str), zone)
    if "content" in body:
        changed.content = _content(record.type, _field(body, "content", str))
    if "proxied" in body:
        changed.proxied = _field(body, "proxied", bool)
    if "ttl" in body:
        changed.ttl = _ttl(_field(body, "ttl", int))
    if "comment" in body:
        changed.comment = _field(body, "comment", (str, type(None)))
    if "tags" in body:
        changed.tags = [str(t) for t in _field(body, "tags", list)]
    if "priority" in body and record.type == "MX":
        changed.priority = _field(body, "priority", int)
    return changed


def _field(body: dict, key: str, kind: type | tuple) -> object:
    value = body[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        raise invalid(f"Field '{key}' has the wrong type")
    if not isinstance(value, kinds):
        raise invalid(f"Field '{key}' has the wrong type")
    return value


def _name_in_zone(name: str, zone: Zone) -> str:
    full = _full_name(name, zone)
    if full != zone.name and not full.endswith("." + zone.name):
        raise invalid(f"Record name {name} is not inside zone {zone.name}")
    return full


def _content(record_type: str, content: str) -> str:
    versions = {"A": 4, "AAAA": 6}
    if record_type in versions:
        try:
            address = ipaddress.ip_address(content)
        except ValueError as err:
            raise _bad_address(record_type) from err
        if address.version != versions[record_type]:
            raise _bad_address(record_type)
    return content


def _bad_address(record_type: str) -> ev.ApiError:
    family = "IPv4" if record_type == "A" else "IPv6"
    return ev.ApiError(400, ev.INVALID_DNS_CONTENT,
                       f"Content for {record_type} record must be a valid {family} address.")


def _ttl(ttl: int) -> int:
    if ttl != 1 and not 60 <= ttl <= 86400:
        raise invalid("TTL must be between 60 and 86400 seconds, or 1 for Automatic")
    return ttl


def _check_proxying(record: DnsRecord) -> None:
    if not record.proxied:
        return
    if record.type not in PROXIABLE_TYPES:
        raise ev.ApiError(400, ev.CANNOT_PROXY_TYPE, "This kind of record cannot be proxied")
    if not proxiable(record):
        raise ev.ApiError(
            400, ev.CANNOT_PROXY_TARGET,
            "This DNS record cannot be proxied - click the cloud icon to turn it gray to proceed",
        )


def proxiable(record: DnsRecord) -> bool:
    if record.type not in PROXIABLE_TYPES:
        return False
    if record.type == "CNAME":
        return True
    try:
        address = ipaddress.ip_address(record.content)
    except ValueError:
        return False
    return not any(address in net for net in _UNPROXIABLE if net.version == address.version)


def record_object(record: DnsRecord) -> dict:
    # No zone_id / zone_name / locked: removed from responses in 2024 (§7).
    obj = {
        "id": record.id,
        "type": record.type,
        "name": record.name,
        "content": record.content,
        "proxiable": proxiable(record),
        "proxied": record.proxied,
        "ttl": record.ttl,
        "settings": {},
        "meta": {},
        "tags": list(record.tags),
        "created_on": ev.timestamp(record.created_on),
        "modified_on": ev.timestamp(record.modified_on),
    }
    # An empty comment is left out: the 2024 schema does not allow null for it.
    if record.comment is not None:
        obj["comment"] = record.comment
    if record.type == "MX":
        obj["priority"] = record.priority
    return obj
