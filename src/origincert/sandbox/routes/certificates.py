"""Origin CA certificates: create (sign a CSR), list by zone, get, revoke (§1).

Create checks permission before content: a caller without SSL and Certificates Edit is
refused as unauthorized even when its CSR is garbage, while a caller with it gets a 400
for the CSR. Products rely on this to probe the permission without issuing anything.
"""

from __future__ import annotations

import ipaddress
import re

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.requests import Request
from starlette.responses import Response

from .. import envelope as ev
from ..auth import Caller
from ..data import Certificate, World, Zone
from . import caller_of, context, endpoint, int_param, invalid, json_body, no_route

VALIDITY_DAYS = (7, 30, 90, 365, 730, 1095, 5475)
MAX_HOSTNAMES = 200
_KINDS = {"origin-rsa": "rsa", "origin-ecc": "ecc"}
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def _not_authorized() -> ev.ApiError:
    # 403 is UNCONFIRMED; the code and message are the Origin CA's own (§1.6).
    return ev.ApiError(403, ev.NOT_AUTHORIZED_ORIGIN_CA,
                       "User is not authorized to perform this action")


@endpoint
async def create(request: Request) -> Response:
    caller = caller_of(request)
    world = context(request).world
    if not any(caller.can(z, "ssl:edit") for z in world.zones):
        raise _not_authorized()

    body = await json_body(request)
    hostnames = _hostnames(body.get("hostnames"))
    zones = _zones_of(hostnames, caller, world)
    kind = _request_type(body.get("request_type"))
    validity = _validity(body.get("requested_validity", 5475))
    csr_pem = body.get("csr")
    csr = _csr(csr_pem, kind)

    issued = context(request).ca.sign(csr, hostnames, kind, validity, world.now())
    cert = Certificate(
        id=str(issued.serial),
        certificate=issued.pem,
        csr=csr_pem,
        hostnames=hostnames,
        request_type=body["request_type"],
        requested_validity=validity,
        expires_on=issued.not_after,
        zone_ids=[z.id for z in zones],
    )
    world.certificates[cert.id] = cert
    return ev.success(certificate_object(cert))


def _hostnames(raw: object) -> list[str]:
    if not isinstance(raw, list) or not raw:
        raise invalid("hostnames must be a non-empty list of hostnames")
    if len(raw) > MAX_HOSTNAMES:
        raise invalid(f"A certificate may cover at most {MAX_HOSTNAMES} hostnames, "
                      f"got {len(raw)}")
    names = [_hostname(item) for item in raw]
    if len(set(names)) != len(names):
        raise invalid("hostnames must not repeat a name")
    return names


def _hostname(item: object) -> str:
    """One requested name, lowercased and in punycode; refused if not an FQDN or wildcard."""
    if not isinstance(item, str) or not item.strip():
        raise invalid(f"Invalid hostname {item!r}: expected a non-empty string")
    name = item.strip().rstrip(".").lower()
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        pass
    else:
        raise invalid(f"Invalid hostname {item}: IP addresses are not allowed")

    bare = name[2:] if name.startswith("*.") else name
    if "*" in bare:
        raise invalid(f"Invalid hostname {item}: a wildcard may only be a single leading '*.'")
    try:
        bare = bare.encode("idna").decode("ascii")
    except UnicodeError as err:
        raise invalid(f"Invalid hostname {item}: not a valid domain name") from err

    labels = bare.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise invalid(f"Invalid hostname {item}: not a fully qualified domain name")
    return ("*." if name.startswith("*.") else "") + bare


def _zones_of(hostnames: list[str], caller: Caller, world: World) -> list[Zone]:
    """The zones of the names, each reachable by the caller with SSL and Certificates Edit."""
    zones: list[Zone] = []
    for name in hostnames:
        zone = world.zone_for_hostname(name)
        if zone is None or not caller.reaches(zone):
            # Code UNCONFIRMED; the message is the dashboard's (§1.4).
            raise ev.ApiError(
                400, ev.HOSTNAME_NOT_YOURS,
                f"Failed to validate requested hostname {name}: This zone is either not "
                "part of your account, or you do not have access to it",
            )
        if not caller.can(zone, "ssl:edit"):
            raise _not_authorized()
        if zone not in zones:
            zones.append(zone)
    return zones


def _request_type(raw: object) -> str:
    if raw == "keyless-certificate":
        raise invalid("request_type keyless-certificate is not supported by the sandbox")
    if raw not in _KINDS:
        raise invalid("request_type must be one of origin-rsa, origin-ecc")
    return _KINDS[raw]


def _validity(raw: object) -> int:
    # A JSON number; 365.0 is the same number as 365.
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or raw not in VALIDITY_DAYS:
        listed = ", ".join(str(d) for d in VALIDITY_DAYS)
        raise invalid(f"requested_validity must be one of {listed} (days)")
    return int(raw)


def _csr(raw: object, kind: str) -> x509.CertificateSigningRequest:
    if not isinstance(raw, str) or not raw.strip():
        raise ev.ApiError(400, ev.INVALID_CSR, "csr is required: a PEM certificate request")
    try:
        csr = x509.load_pem_x509_csr(raw.encode("utf-8"))
        signed = csr.is_signature_valid
    except ValueError as err:
        raise ev.ApiError(400, ev.INVALID_CSR, "The CSR could not be parsed") from err
    if not signed:
        raise ev.ApiError(400, ev.INVALID_CSR, "The CSR's signature does not verify")

    # Key rules are UNCONFIRMED (§1.5): RSA of at least 2048 bits, or a NIST curve.
    key = csr.public_key()
    if kind == "rsa" and not isinstance(key, rsa.RSAPublicKey):
        raise ev.ApiError(400, ev.KEY_TYPE_MISMATCH,
                          "request_type origin-rsa needs a CSR with an RSA key")
    if kind == "ecc" and not isinstance(key, ec.EllipticCurvePublicKey):
        raise ev.ApiError(400, ev.KEY_TYPE_MISMATCH,
                          "request_type origin-ecc needs a CSR with an EC key")
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < 2048:
        raise ev.ApiError(400, ev.INVALID_CSR, "RSA keys must be at least 2048 bits")
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name not in (
            "secp256r1", "secp384r1", "secp521r1"):
        raise ev.ApiError(400, ev.INVALID_CSR, "EC keys must use P-256, P-384 or P-521")
    return csr


@endpoint
async def list_certificates(request: Request) -> Response:
    caller = caller_of(request)
    world = context(request).world
    zone_id = request.query_params.get("zone_id")
    if not zone_id:
        # HTTP 400 is UNCONFIRMED.
        raise ev.ApiError(400, ev.NEED_ZONE_ID, "Please provide a zone id when requesting a "
                          "stored certificate, or fetch by serial number")
    zone = world.zone(zone_id)
    if zone is None:
        raise no_route(request)
    # The docs ask for SSL and Certificates Edit for every Origin CA call; the sandbox lets
    # Read list and get (UNCONFIRMED), and asks Edit to create and revoke.
    if not caller.can(zone, "ssl:read"):
        raise _not_authorized()

    page = int_param(request, "page", 1, 1, 1_000_000)
    per_page = int_param(request, "per_page", 20, 5, 50)
    # Revoked certificates leave the list (§1.3).
    certs = [c for c in world.certificates.values()
             if zone.id in c.zone_ids and c.revoked_at is None]
    chosen, info = ev.paginate(certs, page, per_page)
    return ev.success([certificate_object(c) for c in chosen], result_info=info)


def _certificate_for(request: Request, caller: Caller, permission: str) -> Certificate:
    world = context(request).world
    cert = world.certificates.get(request.path_params["certificate_id"])
    if cert is None:
        raise no_route(request)
    for zone_id in cert.zone_ids:
        zone = world.zone(zone_id)
        if zone is None or not caller.can(zone, permission):
            raise _not_authorized()
    return cert


@endpoint
async def get_certificate(request: Request) -> Response:
    cert = _certificate_for(request, caller_of(request), "ssl:read")
    return ev.success(certificate_object(cert))


@endpoint
async def revoke(request: Request) -> Response:
    cert = _certificate_for(request, caller_of(request), "ssl:edit")
    # Revoking twice keeps the first time and succeeds again (UNCONFIRMED).
    if cert.revoked_at is None:
        cert.revoked_at = context(request).world.now()
    return ev.success({"id": cert.id, "revoked_at": ev.timestamp(cert.revoked_at)})


def certificate_object(cert: Certificate) -> dict:
    obj = {
        "id": cert.id,
        "certificate": cert.certificate,
        "csr": cert.csr,
        "hostnames": list(cert.hostnames),
        "expires_on": _rfc3339_seconds(cert),
        "request_type": cert.request_type,
        "requested_validity": cert.requested_validity,
    }
    if cert.revoked_at is not None:
        obj["revoked_at"] = ev.timestamp(cert.revoked_at)
    return obj


def _rfc3339_seconds(cert: Certificate) -> str:
    # RFC 3339, one of the two forms the live API has used (§0 #9).
    return cert.expires_on.strftime("%Y-%m-%dT%H:%M:%SZ")
