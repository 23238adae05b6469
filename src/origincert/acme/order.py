"""A publicly trusted certificate from an ACME CA, validated by DNS-01 through Cloudflare.

The ACME protocol is the ``acme`` package's (the library certbot is built on); this
module only strings its steps together: account, order, one TXT record per
authorization through the connected Cloudflare account, a wait until the zone's
nameservers answer them, the challenges answered and polled, the records removed
(always), and the order finalized with a CSR of the key made by the caller.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import josepy
import requests
from acme import challenges, messages
from acme import client as acme_client
from acme import errors as acme_errors
from cryptography.hazmat.primitives.serialization import Encoding

from origincert import __version__
from origincert.acme.account import load_account_key, register
from origincert.acme.dns01 import ChallengeRecords, ChallengeTxt, Propagation, record_name
from origincert.acme.errors import AcmeError
from origincert.cloudflare.client import CloudflareClient, Zone
from origincert.errors import OriginCertError
from origincert.pki import certificate as certs
from origincert.pki.csr import build_csr, csr_to_pem
from origincert.pki.keys import PrivateKey

log = logging.getLogger(__name__)

LETSENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
LETSENCRYPT_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory"
DIRECTORIES = {"letsencrypt": LETSENCRYPT, "letsencrypt-staging": LETSENCRYPT_STAGING}

# The steps of obtain(), in order; a step hook is called at each (tests fail there).
STEPS = ("record_created", "records_visible", "challenges_answered", "validated",
         "records_removed", "finalized")
StepHook = Callable[[str], None]

_NETWORK_TIMEOUT_S = 30


@dataclass(frozen=True)
class AcmeResult:
    """The issued certificate and the facts the state records about it."""

    fullchain_pem: bytes  # leaf then intermediates: what the web server must send
    leaf_pem: bytes
    chain_pem: bytes  # the intermediates alone
    hostnames: tuple[str, ...]
    not_before: dt.datetime
    not_after: dt.datetime
    serial_hex: str
    fingerprint_sha256: str
    issuer: str
    directory: str
    order_url: str | None
    account_url: str | None
    notes: tuple[str, ...] = ()


def directory_url(choice: str) -> str:
    """A directory URL from a short name (``letsencrypt``, ``letsencrypt-staging``) or a URL."""
    if choice in DIRECTORIES:
        return DIRECTORIES[choice]
    if choice.startswith(("https://", "http://")):
        return choice
    known = ", ".join(DIRECTORIES)
    raise AcmeError(f"unknown ACME directory {choice!r}",
                    hint=f"use one of {known}, or the directory's https:// URL")


def obtain(
    client: CloudflareClient,
    zones: dict[str, Zone],
    names: list[str],
    key: PrivateKey,
    *,
    directory: str,
    account_key_path: Path,
    ca_bundle: str | None = None,
    dns_resolver: tuple[str, int] | None = None,
    email: str | None = None,
    dns_timeout: float = 120.0,
    acme_timeout: float = 90.0,
    progress: Callable[[str], None] = lambda line: None,
    step_hook: StepHook | None = None,
) -> AcmeResult:
    """A certificate for ``names`` (wildcards included) and ``key`` from the ACME CA at
    ``directory``, validated by DNS-01 records in ``zones`` (hostname -> zone).

    ``ca_bundle`` is the CA file that verifies the ACME server's own HTTPS (a test CA);
    ``dns_resolver`` is the nameserver (host, port) to wait on instead of the zones'
    authoritative ones. Every TXT record made is removed before this returns or raises.
    """
    jwk = load_account_key(account_key_path)
    acme = _connect(directory, jwk, ca_bundle)
    run = _Run(acme, jwk, client, Propagation(dns_resolver, timeout=dns_timeout),
               acme_timeout, progress, step_hook or (lambda step: None))

    with _acme_step("the account", directory):
        account = register(acme, email)
    with _acme_step(f"an order for {', '.join(names)}", directory):
        order = acme.new_order(csr_to_pem(build_csr(key, names)).encode())
    progress(f"ACME order placed at {directory} for {', '.join(names)}")

    leftovers = run.validate(order, _pending(order, zones, jwk))
    with _acme_step(f"the certificate for {', '.join(names)}", directory):
        order = acme.finalize_order(order, run.deadline())
    run.hook("finalized")

    result = _result(order.fullchain_pem, key, names, directory, order.uri, account.uri,
                     tuple(_leftover_note(txt) for txt in leftovers))
    progress(f"the ACME CA issued certificate {result.serial_hex} ({result.issuer}), "
             f"valid until {result.not_after:%Y-%m-%d}")
    return result


def _connect(directory: str, jwk: josepy.JWKEC, ca_bundle: str | None) -> acme_client.ClientV2:
    verify: bool | str = ca_bundle if ca_bundle else True
    net = acme_client.ClientNetwork(jwk, alg=josepy.ES256, verify_ssl=verify,  # type: ignore
                                    user_agent=f"origincert/{__version__}",
                                    timeout=_NETWORK_TIMEOUT_S)
    with _acme_step("its directory", directory):
        return acme_client.ClientV2(acme_client.ClientV2.get_directory(directory, net), net)


def _pending(order: messages.OrderResource, zones: dict[str, Zone],
             jwk: josepy.JWKEC) -> list[tuple[ChallengeTxt, messages.ChallengeBody]]:
    """The DNS-01 challenge of every authorization not yet valid, with its TXT record."""
    pending = []
    for authz in order.authorizations:
        body = authz.body
        hostname = ("*." if body.wildcard else "") + body.identifier.value
        if body.status == messages.STATUS_VALID:
            log.info("acme authorization already valid hostname=%s", hostname)
            continue
        challb = next((c for c in body.challenges if isinstance(c.chall, challenges.DNS01)),
                      None)
        if challb is None:
            raise AcmeError(f"the ACME server offers no DNS challenge for {hostname}",
                            hint="use a CA that supports DNS-01 (RFC 8555 §8.4)")
        txt = ChallengeTxt(hostname, _zone_of(hostname, zones), record_name(hostname),
                           challb.chall.validation(jwk))
        pending.append((txt, challb))
    return pending


@dataclass
class _Run:
    """What the validation steps of one obtain() share."""

    acme: acme_client.ClientV2
    jwk: josepy.JWKEC
    client: CloudflareClient
    propagation: Propagation
    acme_timeout: float
    progress: Callable[[str], None]
    hook: StepHook

    def deadline(self) -> dt.datetime:
        # the acme package compares its deadlines with naive local time
        return dt.datetime.now() + dt.timedelta(seconds=self.acme_timeout)

    def validate(self, order: messages.OrderResource,
                 pending: list[tuple[ChallengeTxt, messages.ChallengeBody]]
                 ) -> list[ChallengeTxt]:
        """Records made and seen, challenges answered and polled; the records removed
        whatever happens. Returns the records that could not be removed."""
        records = ChallengeRecords(self.client)
        try:
            self._challenge(order, pending, records)
        except BaseException as err:
            records.remove_all()
            if records.leftovers and isinstance(err, OriginCertError):
                err.hint = "; ".join(_leftover_note(txt) for txt in records.leftovers)
            raise
        records.remove_all()
        if pending and not records.leftovers:
            self.progress("removed the challenge records")
        self.hook("records_removed")
        return records.leftovers

    def _challenge(self, order: messages.OrderResource,
                   pending: list[tuple[ChallengeTxt, messages.ChallengeBody]],
                   records: ChallengeRecords) -> None:
        for txt, _ in pending:
            records.create(txt)
            self.progress(f"created TXT {txt.name} in zone {txt.zone.name}")
            self.hook("record_created")
        if pending:
            self.propagation.wait(txt for txt, _ in pending)
            self.progress("the zone's nameservers answer the challenge records")
        self.hook("records_visible")

        for txt, challb in pending:
            with _acme_step(f"the DNS challenge for {txt.hostname}", None):
                self.acme.answer_challenge(challb, challb.chall.response(self.jwk))
        self.hook("challenges_answered")

        try:
            self.acme.poll_authorizations(order, self.deadline())
        except acme_errors.ValidationError as err:
            raise _refused(err) from err
        except (acme_errors.Error, messages.Error, requests.RequestException) as err:
            raise _translate(err, "the DNS challenges", None) from err
        self.progress("the ACME server validated every name")
        self.hook("validated")


def _leftover_note(txt: ChallengeTxt) -> str:
    return (f"the challenge record TXT {txt.name} could not be removed; delete it in the "
            f"Cloudflare dashboard (zone {txt.zone.name})")


def _refused(err: acme_errors.ValidationError) -> AcmeError:
    """One line for the first failed authorization, with the server's own detail."""
    for authzr in err.failed_authzrs:
        body = authzr.body
        hostname = ("*." if body.wildcard else "") + body.identifier.value
        problem = next((c.error for c in body.challenges if c.error is not None), None)
        detail = _detail(problem) if problem is not None else "no detail given"
        return AcmeError(f"the ACME server refused the DNS challenge for {hostname}: {detail}",
                         hint="nothing was installed and the challenge records are removed",
                         problem=getattr(problem, "typ", None))
    return AcmeError("the ACME server refused the DNS challenges")


def _zone_of(hostname: str, zones: dict[str, Zone]) -> Zone:
    if hostname in zones:
        return zones[hostname]
    bare = hostname[2:] if hostname.startswith("*.") else hostname
    matches = [z for z in zones.values() if bare == z.name or bare.endswith("." + z.name)]
    if not matches:
        raise AcmeError(f"no zone of the connected account holds {hostname}",
                        hint="issue only for names in the account's zones")
    return max(matches, key=lambda z: len(z.name))


def _result(fullchain: str | None, key: PrivateKey, names: list[str], directory: str,
            order_url: str | None, account_url: str | None,
            notes: tuple[str, ...]) -> AcmeResult:
    """The certificate, refused unless it is for our key and exactly our names."""
    pem = (fullchain or "").encode()
    try:
        chain = certs.load_certificates(pem)
    except Exception as err:  # MaterialError, or nothing at all
        raise AcmeError("the ACME server returned no readable certificate") from err
    leaf = chain[0]
    if not certs.matches_key(leaf, key):
        raise AcmeError("the ACME certificate does not belong to the key made for it")
    if sorted(certs.sans(leaf)) != sorted(names):
        raise AcmeError(f"the ACME certificate names {certs.sans(leaf)}, not {names}")

    info = certs.describe(leaf)
    return AcmeResult(
        fullchain_pem=pem, leaf_pem=leaf.public_bytes(Encoding.PEM),
        chain_pem=b"".join(c.public_bytes(Encoding.PEM) for c in chain[1:]),
        hostnames=tuple(names), not_before=info.not_before, not_after=info.not_after,
        serial_hex=info.serial_hex, fingerprint_sha256=info.fingerprint_sha256,
        issuer=info.issuer, directory=directory, order_url=order_url,
        account_url=account_url, notes=notes,
    )


@contextmanager
def _acme_step(what: str, directory: str | None) -> Iterator[None]:
    try:
        yield
    except (acme_errors.Error, messages.Error, requests.RequestException) as err:
        raise _translate(err, what, directory) from err


def _translate(err: Exception, what: str, directory: str | None) -> AcmeError:
    where = f" at {directory}" if directory else ""
    if isinstance(err, messages.Error):
        return AcmeError(f"the ACME server refused {what}: {_detail(err)}", problem=err.typ)
    if isinstance(err, acme_errors.TimeoutError):
        return AcmeError(f"the ACME server did not finish {what} in time",
                         hint="try again later; nothing was installed")
    if isinstance(err, requests.exceptions.SSLError):
        return AcmeError(f"could not verify the HTTPS certificate of the ACME server{where}",
                         hint="for a private or test CA, give the CA file that signs it")
    if isinstance(err, requests.RequestException):
        return AcmeError(f"could not reach the ACME server{where}: {type(err).__name__}",
                         hint="check the directory URL and this machine's network")
    return AcmeError(f"the ACME exchange failed on {what}: {err}")


def _detail(problem: messages.Error) -> str:
    return str(problem.detail or problem.description or problem.typ or "no detail given")
