"""The Cloudflare client: the product's calls, over the official SDK.

Everything here goes through ``cloudflare.Cloudflare``. This module adds what
the SDK leaves to its callers: exactly one authentication scheme per request
(the SDK would add ``X-Auth-Email`` from the environment to a token client,
fact sheet §0 #4), a check of the envelope's ``success`` flag (the SDK ignores
it, §0 #5), errors that keep code, message and Ray ID, and an audit record of
every call that changes something.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import cloudflare
import httpx

from origincert.cloudflare.credential import GLOBAL_KEY, Credential
from origincert.cloudflare.failures import from_envelope, translate
from origincert.errors import CloudflareAPIError, RateLimitedError

log = logging.getLogger(__name__)

ZONES_PER_PAGE = 50  # zones listed per request

DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4"

AuditHook = Callable[[str, str | None, str | None, str, str | None], None]


@dataclass(frozen=True)
class Zone:
    id: str
    name: str
    status: str
    account_id: str | None
    account_name: str | None


@dataclass(frozen=True)
class TokenStatus:
    id: str | None
    status: str
    expires_on: str | None
    not_before: str | None


@dataclass(frozen=True)
class OriginCertificate:
    """An Origin CA certificate as the API describes it."""

    id: str
    pem: str | None
    hostnames: tuple[str, ...]
    expires_on: str | None
    request_type: str | None
    revoked_at: str | None = None


@dataclass(frozen=True)
class DnsRecord:
    id: str
    type: str
    name: str
    content: str
    proxied: bool
    ttl: int


@dataclass(frozen=True)
class ProbeAnswer:
    """How the API answered a write that cannot change anything (a permission probe).

    ``accepted`` says the API took the request; otherwise ``error`` is its refusal,
    code, message and Ray ID kept, for the caller to read as "no permission" or "refused
    for its content". Rate limiting is never an answer: it is raised instead (C18).
    """

    accepted: bool
    error: CloudflareAPIError | None = None


# A certificate request no CA can sign: refused for its content by a caller allowed to
# issue, refused as unauthorized otherwise (issue 4, field case C14).
INVALID_CSR = (
    "-----BEGIN CERTIFICATE REQUEST-----\n"
    "b3JpZ2luY2VydCBwZXJtaXNzaW9uIHByb2JlOyBub3QgYSBDU1I=\n"
    "-----END CERTIFICATE REQUEST-----\n"
)


class CloudflareClient:
    """One connected credential, talking to one API base."""

    def __init__(
        self,
        credential: Credential,
        *,
        base_url: str | None = None,
        audit: AuditHook | None = None,
        timeout: float = 30.0,
        max_retries: int = 2,
    ) -> None:
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self._audit = audit
        self._kind = credential.kind
        self._fingerprint = credential.secret.fingerprint()
        self._sdk = build_sdk(credential, self.base_url, timeout, max_retries)
        self._zones: list[Zone] | None = None

    def __repr__(self) -> str:
        # Never the SDK object's attributes: they hold the secret.
        return (f"CloudflareClient(base_url={self.base_url!r}, kind={self._kind!r}, "
                f"fingerprint={self._fingerprint!r})")

    def close(self) -> None:
        self._sdk.close()

    # Reads.

    def verify_token(self) -> TokenStatus:
        with self._calling("verify the API token"):
            raw = self._sdk.user.tokens.with_raw_response.verify()
        result = _result_of(raw, "verify the API token")
        return TokenStatus(
            id=result.get("id"),
            status=result.get("status", "unknown"),
            expires_on=result.get("expires_on"),
            not_before=result.get("not_before"),
        )

    def zones(self) -> list[Zone]:
        """Every zone the credential can see, read once per client."""
        if self._zones is None:
            with self._calling("list zones"):
                pages = self._sdk.zones.list(per_page=ZONES_PER_PAGE)
                self._zones = [_zone_from(item) for item in pages]
        return self._zones

    def zone_named(self, name: str) -> Zone | None:
        """The zone called ``name`` if the credential can see it."""
        for zone in self.zones():
            if zone.name == name:
                return zone
        return None

    def get_setting(self, zone_id: str, setting: str) -> Any:
        with self._calling(f"read the {setting} setting"):
            raw = self._sdk.zones.settings.with_raw_response.get(setting, zone_id=zone_id)
        return _result_of(raw, f"read the {setting} setting").get("value")

    def get_zone(self, zone_id: str) -> dict[str, Any]:
        """The zone's details (needs Zone → Zone → Read)."""
        with self._calling("read the zone"):
            raw = self._sdk.zones.with_raw_response.get(zone_id=zone_id)
        return _result_of(raw, "read the zone")

    def dns_records_page(self, zone_id: str, *, per_page: int = 1) -> list[dict[str, Any]]:
        """The first ``per_page`` DNS records of a zone, one request, no pagination."""
        with self._calling("list DNS records"):
            raw = self._sdk.dns.records.with_raw_response.list(zone_id=zone_id,
                                                               per_page=per_page)
        return _results_of(raw, "list DNS records")

    def dns_records(self, zone_id: str) -> list[DnsRecord]:
        """Every DNS record of a zone, in pages of 100."""
        with self._calling("list DNS records"):
            pages = self._sdk.dns.records.list(zone_id=zone_id, per_page=100)
            return [_record_from(item.model_dump()) for item in pages]

    def set_proxied(self, zone_id: str, record: DnsRecord, proxied: bool, *,
                    zone: str | None = None) -> DnsRecord:
        """Turn the orange cloud on or off for one record, nothing else changed.

        The SDK insists on name, type and ttl for a PATCH (fact sheet §0 #6).
        """
        action = "dns_record.proxied"
        target = f"{record.type} {record.name} proxied={str(proxied).lower()}"
        with self._calling("change a DNS record's proxy status", action=action, zone=zone,
                           target=target):
            raw = self._sdk.dns.records.with_raw_response.edit(
                record.id, zone_id=zone_id, name=record.name, type=record.type,
                ttl=1 if proxied else record.ttl, proxied=proxied, content=record.content,
            )
        result = _result_of(raw, "change a DNS record's proxy status")
        self._record(action, zone, target, "ok", raw.headers.get("cf-ray"))
        return _record_from(result)

    def config_rules(self, zone_id: str) -> list[dict[str, Any]]:
        """The zone's configuration rules (the http_config_settings entry point)."""
        path = f"/zones/{zone_id}/rulesets/phases/http_config_settings/entrypoint"
        try:
            with self._calling("read the configuration rules"):
                raw = self._sdk.get(path, cast_to=httpx.Response)
        except CloudflareAPIError as err:
            if err.status == 404:
                return []  # no entry point yet: no rules
            raise
        return list(_result_of(raw, "read the configuration rules").get("rules") or [])

    def put_config_rules(self, zone_id: str, rules: list[dict[str, Any]], *,
                         zone: str | None = None) -> list[dict[str, Any]]:
        """Replace the zone's configuration rules (Zone → Config Rules → Edit)."""
        action = "config_rules.put"
        path = f"/zones/{zone_id}/rulesets/phases/http_config_settings/entrypoint"
        target = "; ".join(str(rule.get("expression")) for rule in rules) or "(none)"
        with self._calling("change the configuration rules", action=action, zone=zone,
                           target=target):
            raw = self._sdk.put(path, body={"rules": rules}, cast_to=httpx.Response)
        result = _result_of(raw, "change the configuration rules")
        self._record(action, zone, target, "ok", raw.headers.get("cf-ray"))
        return list(result.get("rules") or [])

    def ips(self) -> dict[str, Any]:
        """Cloudflare's published address ranges (``GET /ips``, no credential needed, §9)."""
        with self._calling("read Cloudflare's address ranges"):
            omit = cloudflare.Omit()
            raw = self._sdk.ips.with_raw_response.list(extra_headers={
                "Authorization": omit, "X-Auth-Email": omit, "X-Auth-Key": omit})
        return _result_of(raw, "read Cloudflare's address ranges")

    def origin_certificates_page(self, zone_id: str) -> list[dict[str, Any]]:
        """The first page of a zone's Origin CA certificates, one request (C16: zone_id)."""
        with self._calling("list Origin CA certificates"):
            raw = self._sdk.origin_ca_certificates.with_raw_response.list(zone_id=zone_id,
                                                                          per_page=5)
        return _results_of(raw, "list Origin CA certificates")

    def list_origin_certificates(self, zone_id: str) -> list[OriginCertificate]:
        with self._calling("list Origin CA certificates"):
            pages = self._sdk.origin_ca_certificates.list(zone_id=zone_id, per_page=50)
            return [certificate_from(item.model_dump()) for item in pages]

    def get_origin_certificate(self, certificate_id: str) -> OriginCertificate:
        with self._calling("read an Origin CA certificate"):
            raw = self._sdk.origin_ca_certificates.with_raw_response.get(certificate_id)
        return certificate_from(_result_of(raw, "read an Origin CA certificate"))

    # Writes: each one is audited.

    def create_origin_certificate(
        self, csr_pem: str, hostnames: list[str], request_type: str, validity_days: int,
        *, zone: str | None = None,
    ) -> OriginCertificate:
        """Ask the Origin CA to sign ``csr_pem`` for ``hostnames``.

        Retries are off for this call: the API has no idempotency key, so a
        retried POST after a lost answer would issue a second certificate.
        """
        action = "origin_ca.create"
        sdk = self._sdk.with_options(max_retries=0)
        with self._calling("issue an Origin CA certificate", action=action, zone=zone):
            raw = sdk.origin_ca_certificates.with_raw_response.create(
                csr=csr_pem, hostnames=hostnames, request_type=request_type,
                requested_validity=validity_days,
            )
        result = _result_of(raw, "issue an Origin CA certificate")
        certificate = certificate_from(result)
        self._record(action, zone, certificate.id, "ok", raw.headers.get("cf-ray"))
        return certificate

    def revoke_origin_certificate(self, certificate_id: str, *, zone: str | None = None) -> str:
        action = "origin_ca.revoke"
        with self._calling("revoke an Origin CA certificate", action=action, zone=zone,
                           target=certificate_id):
            raw = self._sdk.origin_ca_certificates.with_raw_response.delete(certificate_id)
        result = _result_of(raw, "revoke an Origin CA certificate")
        self._record(action, zone, certificate_id, "ok", raw.headers.get("cf-ray"))
        return str(result.get("revoked_at") or "")

    def edit_setting(self, zone_id: str, setting: str, value: Any, *, zone: str | None = None):
        action = f"zone_setting.{setting}"
        with self._calling(f"change the {setting} setting", action=action, zone=zone,
                           target=str(value)):
            raw = self._sdk.zones.settings.with_raw_response.edit(
                setting, zone_id=zone_id, value=value
            )
        result = _result_of(raw, f"change the {setting} setting")
        self._record(action, zone, str(value), "ok", raw.headers.get("cf-ray"))
        return result.get("value")

    def create_dns_record(self, zone_id: str, record_type: str, name: str, content: str, *,
                          ttl: int = 1, proxied: bool = False, comment: str | None = None,
                          zone: str | None = None) -> DnsRecord:
        """Add one DNS record (needs Zone → DNS → Edit).

        Retries are off: a retried POST after a lost answer would make the record twice.
        """
        action = "dns_record.create"
        target = f"{record_type} {name}"
        sdk = self._sdk.with_options(max_retries=0)
        extra = {"comment": comment} if comment is not None else {}
        with self._calling("create a DNS record", action=action, zone=zone, target=target):
            raw = sdk.dns.records.with_raw_response.create(
                zone_id=zone_id, type=record_type, name=name, content=content, ttl=ttl,
                proxied=proxied, **extra,
            )
        result = _result_of(raw, "create a DNS record")
        self._record(action, zone, target, "ok", raw.headers.get("cf-ray"))
        return _record_from(result)

    def delete_dns_record(self, zone_id: str, record_id: str, *, zone: str | None = None,
                          target: str | None = None) -> str:
        """Remove one DNS record by id; returns the id the API confirmed."""
        action = "dns_record.delete"
        shown = target or record_id
        with self._calling("delete a DNS record", action=action, zone=zone, target=shown):
            raw = self._sdk.dns.records.with_raw_response.delete(record_id, zone_id=zone_id)
        result = _result_of(raw, "delete a DNS record")
        self._record(action, zone, shown, "ok", raw.headers.get("cf-ray"))
        return str(result.get("id") or record_id)

    # Permission probes: writes that cannot change anything, each audited as a probe.

    def probe_certificate_request(self, zone_name: str) -> ProbeAnswer:
        """Ask for a certificate with a CSR no CA can sign, for the zone's apex."""
        sdk = self._sdk.with_options(max_retries=0)
        return self._probe(
            "probe the permission to issue certificates", "probe.origin_ca.create", zone_name,
            "invalid CSR, nothing can be issued",
            lambda: sdk.origin_ca_certificates.with_raw_response.create(
                csr=INVALID_CSR, hostnames=[zone_name], request_type="origin-ecc",
                requested_validity=7,
            ),
        )

    def probe_setting_edit(self, zone_id: str, zone_name: str, setting: str,
                           current: Any) -> ProbeAnswer:
        """PATCH a setting with the value it already has (field case C15)."""
        return self._probe(
            f"probe the permission to change the {setting} setting",
            f"probe.zone_setting.{setting}", zone_name,
            f"{setting}={current} (its current value, unchanged)",
            lambda: self._sdk.zones.settings.with_raw_response.edit(
                setting, zone_id=zone_id, value=current),
        )

    def probe_dns_edit(self, zone_id: str, zone_name: str,
                       record: dict[str, Any]) -> ProbeAnswer:
        """PATCH a DNS record with the values it already has."""
        fields = {key: record[key] for key in ("name", "type", "content", "ttl", "proxied")
                  if record.get(key) is not None}
        if record.get("priority") is not None:
            fields["priority"] = record["priority"]
        return self._probe(
            "probe the permission to change DNS records", "probe.dns_record.edit", zone_name,
            f"{record.get('type')} {record.get('name')} (its current values, unchanged)",
            lambda: self._sdk.dns.records.with_raw_response.edit(
                str(record["id"]), zone_id=zone_id, **fields),
        )

    def _probe(self, what: str, action: str, zone: str, target: str,
               call: Callable[[], Any]) -> ProbeAnswer:
        try:
            with self._calling(what):
                raw = call()
            _result_of(raw, what)
        except RateLimitedError:
            raise
        except CloudflareAPIError as err:
            if err.status is None and err.code is None:
                raise  # no answer from the API at all: nothing to infer from
            self._record(action, zone, target, "error", err.ray_id)
            return ProbeAnswer(False, err)
        self._record(action, zone, target, "ok", raw.headers.get("cf-ray"))
        return ProbeAnswer(True)

    # Plumbing.

    @contextmanager
    def _calling(
        self, what: str, *, action: str | None = None, zone: str | None = None,
        target: str | None = None,
    ) -> Iterator[None]:
        try:
            yield
        except cloudflare.APIError as err:
            failure = translate(err, what)
            if action:
                self._record(action, zone, target, "error", failure.ray_id)
            raise failure from err
        except cloudflare.CloudflareError as err:
            raise CloudflareAPIError(
                f"could not {what}: {err}",
                hint=f"check that {self.base_url} is reachable",
            ) from err

    def _record(self, action: str, zone: str | None, target: str | None, result: str,
                ray_id: str | None) -> None:
        log.info("cloudflare change", extra={"action": action, "zone": zone,
                                              "result": result, "ray_id": ray_id})
        if self._audit is not None:
            self._audit(action, zone, target, result, ray_id)


def build_sdk(credential: Credential, base_url: str, timeout: float,
               max_retries: int, sdk_class: Any = cloudflare.Cloudflare) -> Any:
    """The SDK client (sync, or ``AsyncCloudflare``) sending exactly this credential."""
    secret = credential.secret.reveal()
    if credential.kind == GLOBAL_KEY:
        sdk = sdk_class(api_key=secret, api_email=credential.email or "",
                        base_url=base_url, timeout=timeout, max_retries=max_retries)
        sdk.api_token = None
    else:
        sdk = sdk_class(api_token=secret, base_url=base_url, timeout=timeout,
                        max_retries=max_retries)
        sdk.api_key = None
        sdk.api_email = None
    # The SDK fills every unset scheme from the environment; one scheme only.
    sdk.user_service_key = None
    return sdk


def envelope_of(raw: Any, what: str) -> dict[str, Any]:
    """The envelope, after checking that the API said success (the SDK does not, §0 #5)."""
    try:
        body = raw.json()
    except ValueError as err:
        raise CloudflareAPIError(f"could not {what}: the API answered with no JSON",
                                 ray_id=raw.headers.get("cf-ray"),
                                 status=raw.status_code) from err
    if not isinstance(body, dict) or not body.get("success"):
        raise from_envelope(body, what, status=raw.status_code,
                            ray_id=raw.headers.get("cf-ray"))
    return body


def _result_of(raw: Any, what: str) -> dict[str, Any]:
    result = envelope_of(raw, what).get("result")
    return result if isinstance(result, dict) else {}


def _results_of(raw: Any, what: str) -> list[dict[str, Any]]:
    result = envelope_of(raw, what).get("result")
    return [item for item in result if isinstance(item, dict)] if isinstance(result, list) else []


def _zone_from(item: Any) -> Zone:
    account = getattr(item, "account", None)
    return Zone(
        id=item.id,
        name=item.name,
        status=getattr(item, "status", None) or "unknown",
        account_id=getattr(account, "id", None),
        account_name=getattr(account, "name", None),
    )


def _record_from(data: dict[str, Any]) -> DnsRecord:
    return DnsRecord(
        id=str(data.get("id") or ""), type=str(data.get("type") or ""),
        name=str(data.get("name") or "").lower(), content=str(data.get("content") or ""),
        proxied=bool(data.get("proxied")), ttl=int(data.get("ttl") or 1),
    )


def certificate_from(data: dict[str, Any]) -> OriginCertificate:
    return OriginCertificate(
        id=str(data.get("id") or ""),
        pem=data.get("certificate"),
        hostnames=tuple(data.get("hostnames") or ()),
        expires_on=data.get("expires_on"),
        request_type=data.get("request_type"),
        revoked_at=data.get("revoked_at"),
    )
