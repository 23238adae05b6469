"""Many Origin CA certificates at once, through the SDK's async client.

Every request waits for the shared ``Budget``; a 429 pauses everyone for its
``Retry-After`` and is sent again (safe: a refused request issued nothing).
Other failures are returned per request, never raised, so one bad site does
not stop the batch. The SDK's own retries stay off for these POSTs: a retry
after a lost answer would issue a second certificate.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cloudflare

from origincert.cloudflare.budget import Budget
from origincert.cloudflare.client import (
    DEFAULT_BASE_URL, OriginCertificate, build_sdk, certificate_from,
)
from origincert.cloudflare.credential import Credential
from origincert.cloudflare.failures import from_envelope, translate
from origincert.errors import CloudflareAPIError, RateLimitedError

log = logging.getLogger(__name__)

MAX_429_TRIES = 5


@dataclass(frozen=True)
class CertificateRequest:
    csr_pem: str
    hostnames: list[str]
    request_type: str
    validity_days: int
    zone: str  # for the audit log


@dataclass(frozen=True)
class Outcome:
    """One request's answer: the certificate, or the error, and the Ray ID either way."""

    request: CertificateRequest
    certificate: OriginCertificate | None = None
    error: CloudflareAPIError | None = None
    ray_id: str | None = None


class BulkOriginCA:
    def __init__(self, credential: Credential, *, base_url: str | None = None,
                 budget: Budget | None = None, concurrency: int = 32,
                 timeout: float = 60.0) -> None:
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.credential = credential
        self.budget = budget or Budget()
        self.concurrency = concurrency
        self.timeout = timeout
        self.calls = 0

    def create_many(self, requests: Sequence[CertificateRequest], *,
                    on_done: Callable[[Outcome], None] | None = None) -> list[Outcome]:
        """Issue every request; outcomes in the order of ``requests``.

        ``on_done`` runs on the event loop as each answer comes, so it must not wait
        (the batch's saves skip their fsyncs and flush once at the end): handing it to
        threads instead costs more in switching than the work itself.
        """
        return asyncio.run(self._create_all(list(requests), on_done))

    async def _create_all(self, requests: list[CertificateRequest],
                          on_done: Callable[[Outcome], None] | None) -> list[Outcome]:
        sdk = build_sdk(self.credential, self.base_url, self.timeout, 0,
                        cloudflare.AsyncCloudflare)
        gate = asyncio.Semaphore(self.concurrency)
        try:
            async def one(request: CertificateRequest) -> Outcome:
                async with gate:
                    outcome = await self._create(sdk, request)
                if on_done is not None:
                    on_done(outcome)
                return outcome

            return list(await asyncio.gather(*(one(r) for r in requests)))
        finally:
            await sdk.close()
            log.info("bulk issuance done", extra={"calls": self.calls})

    async def _create(self, sdk: cloudflare.AsyncCloudflare,
                      request: CertificateRequest) -> Outcome:
        for _ in range(MAX_429_TRIES):
            send = await self.budget.acquire()
            self.calls += 1
            try:
                raw = await sdk.origin_ca_certificates.with_raw_response.create(
                    csr=request.csr_pem, hostnames=request.hostnames,
                    request_type=request.request_type,
                    requested_validity=request.validity_days,
                )
                self.budget.answered(send, raw.headers)
                body = await _envelope(raw)
            except cloudflare.APIError as err:
                response = getattr(err, "response", None)
                self.budget.answered(send, response.headers if response is not None else None)
                failure = translate(err, "issue an Origin CA certificate")
                if isinstance(failure, RateLimitedError):
                    self._pause(err)
                    continue
                return Outcome(request, error=failure, ray_id=failure.ray_id)
            except CloudflareAPIError as err:
                return Outcome(request, error=err, ray_id=err.ray_id)
            except cloudflare.CloudflareError as err:
                self.budget.answered(send)  # no answer: counted, but says nothing
                failure = CloudflareAPIError(f"could not issue an Origin CA certificate: {err}")
                return Outcome(request, error=failure)
            result = body.get("result") if isinstance(body.get("result"), dict) else {}
            return Outcome(request, certificate=certificate_from(result),
                           ray_id=raw.headers.get("cf-ray"))
        failure = RateLimitedError("the API kept answering 429 (rate limited)",
                                   hint="wait for the window to pass, then run again")
        return Outcome(request, error=failure)

    def _pause(self, err: cloudflare.APIError) -> None:
        response = getattr(err, "response", None)
        text = response.headers.get("retry-after", "") if response is not None else ""
        seconds = float(text) if text.replace(".", "", 1).isdigit() else 5.0
        log.info("rate limited, pausing", extra={"seconds": seconds})
        self.budget.pause(seconds)


async def _envelope(raw: object) -> dict[str, object]:
    """The envelope of an async raw response, after checking it said success."""
    what = "issue an Origin CA certificate"
    headers = raw.headers  # type: ignore[attr-defined]
    try:
        body = await raw.json()  # type: ignore[attr-defined]
    except ValueError as err:
        raise CloudflareAPIError(f"could not {what}: the API answered with no JSON",
                                 ray_id=headers.get("cf-ray")) from err
    if not isinstance(body, dict) or not body.get("success"):
        raise from_envelope(body, what, status=raw.status_code,  # type: ignore[attr-defined]
                            ray_id=headers.get("cf-ray"))
    return body
