"""Every endpoint, success and error, validates against the OpenAPI subset.

The `http` fixture validates each response as it arrives (see sandbox_contract.py for the
three documented exceptions where the 2024 schema is stale); this sweep makes sure every
endpoint is exercised on both sides, and that the check itself bites.
"""

from __future__ import annotations

import pytest

from sandbox_contract import ContractError
from sandbox_helpers import ZONE_COM, ZONE_IO, bearer, make_csr

MX_RECORD_INDEX = 16


def _record_id(sb, zone_id: str, name: str, record_type: str) -> str:
    zone = sb.world.zone(zone_id)
    return next(r.id for r in zone.dns_records if r.name == name and r.type == record_type)


def _issue(http, names=("shop.example.com",)) -> str:
    body = {"csr": make_csr(list(names)), "hostnames": list(names), "request_type": "origin-rsa"}
    response = http.post("certificates", json=body, headers=bearer("full"))
    assert response.status_code == 200
    return response.json()["result"]["id"]


def test_every_endpoint_answers_success_and_errors_within_the_contract(sb, http, contract):
    full, zone = bearer("full"), f"zones/{ZONE_COM}"
    record = _record_id(sb, ZONE_COM, "mail.example.com", "A")
    mx = _record_id(sb, ZONE_COM, "example.com", "MX")
    cert_id = _issue(http)

    calls = [
        # (method, path, kwargs, expected status)
        ("GET", "user/tokens/verify", {"headers": full}, 200),
        ("GET", "user/tokens/verify", {"headers": {"Authorization": "Bearer " + "x" * 40}}, 401),
        ("GET", "ips", {}, 200),
        ("GET", "zones", {"headers": full}, 200),
        ("GET", "zones", {"headers": {}}, 400),
        ("GET", "zones?per_page=500", {"headers": full}, 400),
        ("GET", zone, {"headers": full}, 200),
        ("GET", f"zones/{ZONE_IO}", {"headers": full}, 403),
        ("GET", "zones/" + "0" * 32, {"headers": full}, 404),
        ("GET", f"{zone}/settings/ssl", {"headers": full}, 200),
        ("GET", f"{zone}/settings/bogus", {"headers": full}, 400),
        ("PATCH", f"{zone}/settings/ssl", {"headers": full, "json": {"value": "strict"}}, 200),
        ("PATCH", f"{zone}/settings/ssl", {"headers": full, "json": {"value": "max"}}, 400),
        ("PATCH", f"{zone}/settings/ssl", {"headers": bearer("read_only"),
                                            "json": {"value": "full"}}, 403),
        ("GET", f"{zone}/dns_records", {"headers": full}, 200),
        ("GET", f"{zone}/dns_records", {"headers": bearer("client_co")}, 403),
        ("PATCH", f"{zone}/dns_records/{record}", {"headers": full,
                                                   "json": {"proxied": True}}, 200),
        ("PATCH", f"{zone}/dns_records/{mx}", {"headers": full, "json": {"proxied": True}}, 400),
        ("PATCH", f"{zone}/dns_records/{'f' * 32}", {"headers": full, "json": {}}, 404),
        ("PUT", f"{zone}/dns_records/{record}",
         {"headers": full, "json": {"type": "A", "name": "mail.example.com",
                                    "content": "203.0.113.99", "ttl": 300}}, 200),
        ("PUT", f"{zone}/dns_records/{record}", {"headers": full, "json": {"ttl": 300}}, 400),
        ("POST", "certificates", {"headers": full, "content": b"{not json"}, 400),
        ("POST", "certificates", {"headers": bearer("no_ssl"), "json": {}}, 403),
        ("GET", f"certificates?zone_id={ZONE_COM}", {"headers": full}, 200),
        ("GET", "certificates", {"headers": full}, 400),
        ("GET", f"certificates/{cert_id}", {"headers": full}, 200),
        ("GET", "certificates/123", {"headers": full}, 404),
        ("DELETE", f"certificates/{cert_id}", {"headers": full}, 200),
        ("DELETE", f"certificates/{cert_id}", {"headers": bearer("client_co")}, 403),
        ("GET", "no/such/route", {"headers": full}, 404),
    ]
    for method, path, kwargs, expected in calls:
        response = http.request(method, path, **kwargs)
        assert response.status_code == expected, (method, path, response.text)

    checked = {(m, p.removeprefix("/client/v4")) for m, p, _ in contract.checked}
    assert ("DELETE", f"/certificates/{cert_id}") in checked


def test_injected_server_error_is_an_envelope_within_the_contract(sb, http):
    sb.inject_failure("GET", r"^/zones$", status=503)

    response = http.get("zones", headers=bearer("full"))

    assert response.status_code == 503
    assert response.json()["success"] is False


def test_contract_check_catches_a_broken_body(contract):
    broken = {"success": True, "errors": [], "messages": [], "result": [{"id": 5}]}

    with pytest.raises(ContractError):
        contract.check("GET", "/client/v4/zones", 200, broken)
