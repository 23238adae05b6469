"""Many Origin CA certificates for a batch: one API call each, many in flight.

The same order as for one site, done for all at once: keys generated and
saved (0600) with one flush for all, every certificate recorded as "requested"
in one transaction, the requests sent concurrently within the credential's
budget, each answer checked (our key, our names, the Origin CA root) and saved
beside its key, and the records updated together.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from origincert import files
from origincert.cloudflare.budget import Budgets
from origincert.cloudflare.bulk import BulkOriginCA, CertificateRequest, Outcome
from origincert.cloudflare.credential import Credential
from origincert.errors import OriginCertError
from origincert.pki import certificate as certs
from origincert.pki.csr import build_csr, csr_to_pem, request_type_for
from origincert.pki.keys import PrivateKey, generate_key
from origincert.provision.resolve import Reach
from origincert.provision.trust import trusted_roots
from origincert.state.certstore import CertStore
from origincert.state.db import Store

log = logging.getLogger(__name__)


@dataclass
class Wanted:
    """One site's certificate in the making."""

    site: str
    lineage: str
    names: list[str]
    reach: Reach
    key: PrivateKey | None = None
    version: int | None = None
    cert_id: int | None = None
    cf_id: str | None = None
    error: str | None = None
    extra: dict[str, object] = field(default_factory=dict)


def obtain_all(store: Store, wanted: list[Wanted], *, key_type: str, validity: int,
               budgets: Budgets, concurrency: int,
               on_done: Callable[[Wanted], None]) -> int:
    """Fill in every ``Wanted`` (``cert_id`` and ``cf_id``, or ``error``); API calls made."""
    certstore = CertStore(store.paths)
    for item in wanted:
        # In turn: without an fsync each, a key takes a fraction of a millisecond, and
        # a pool of threads only added switching and memory.
        _make_key(certstore, item, key_type)
    files.flush([certstore.certs_dir])  # every key on disk before any is recorded
    ready = [w for w in wanted if w.error is None]
    ids = store.record_certificates([_row(w, key_type, validity) for w in ready])
    for item, cert_id in zip(ready, ids, strict=True):
        item.cert_id = cert_id

    calls = 0
    for items in _by_account(ready).values():
        calls += _ask(store, certstore, items, validity, budgets, concurrency, on_done)
    return calls


def _make_key(certstore: CertStore, item: Wanted, key_type: str) -> None:
    try:
        item.key = generate_key(key_type)
        item.version, key_path = certstore.save_key(item.lineage, item.key, durable=False)
        item.extra["key_path"] = str(key_path)
    except OriginCertError as err:
        item.error = err.one_line()


def _row(item: Wanted, key_type: str, validity: int) -> dict[str, object]:
    return {
        "lineage": item.lineage, "hostnames": item.names, "key_type": key_type,
        "request_type": request_type_for(item.key), "validity_days": validity,
        "version": item.version, "key_path": item.extra["key_path"],
        "account_id": item.reach.account.id,
        "zone_ids": item.reach.zone_ids(),
    }


def _by_account(items: list[Wanted]) -> dict[int, list[Wanted]]:
    grouped: dict[int, list[Wanted]] = {}
    for item in items:
        grouped.setdefault(item.reach.account.id, []).append(item)
    return grouped


def _ask(store: Store, certstore: CertStore, items: list[Wanted],
         validity: int, budgets: Budgets, concurrency: int,
         on_done: Callable[[Wanted], None]) -> int:
    account = items[0].reach.account
    credential = Credential(account.kind, store.account_secret(account), account.email)
    bulk = BulkOriginCA(credential, base_url=account.api_base,
                        budget=budgets.of(account.budget_key),
                        concurrency=concurrency)
    requests = [CertificateRequest(csr_to_pem(build_csr(i.key, i.names)), i.names,
                                   request_type_for(i.key), validity,
                                   ",".join(i.reach.zone_names())) for i in items]
    by_request = {id(r): item for r, item in zip(requests, items, strict=True)}
    roots = trusted_roots(store, account.name)
    updates: dict[int, dict[str, object]] = {}
    audit: list[dict[str, object]] = []

    def done(outcome: Outcome) -> None:
        item = by_request[id(outcome.request)]
        audit.append(_audit_entry(outcome, account.name))
        try:
            updates[item.cert_id] = _settle(certstore, item, outcome, roots)  # type: ignore
        except Exception as err:  # a full disk, say: this one fails, the others go on
            item.error = f"could not save the certificate: {err}"
            updates[item.cert_id] = {  # type: ignore[index]
                "status": "unused",
                "cf_id": outcome.certificate.id if outcome.certificate else None}
        on_done(item)

    try:
        bulk.create_many(requests, on_done=done)
    finally:
        # Even when the run is cut short: what Cloudflare issued is recorded, so that
        # it can be found and revoked.
        files.flush([certstore.certs_dir])  # every certificate on disk before its record
        store.update_certificates(updates)
        store.audit_many(audit)
    return bulk.calls


def _settle(certstore: CertStore, item: Wanted, outcome: Outcome,
            roots: list[object]) -> dict[str, object]:
    """Check and save one answer; the fields to record for it."""
    if outcome.error is not None or outcome.certificate is None:
        item.error = outcome.error.one_line() if outcome.error else "no certificate returned"
        return {"status": "unused"}
    pem = (outcome.certificate.pem or "").encode()
    try:
        leaf = certs.load_certificate(pem)
        problem = _problem(leaf, item, roots)
        if problem:
            raise OriginCertError(problem)
        cert_path = certstore.save_certificate(item.lineage, item.version,  # type: ignore
                                               pem, key=item.key, leaf=leaf,
                                               durable=False)
    except OriginCertError as err:
        item.error = err.one_line()
        return {"status": "unused", "cf_id": outcome.certificate.id}
    info = certs.describe(leaf)
    item.cf_id = outcome.certificate.id
    return {"status": "issued", "cf_id": item.cf_id, "not_before": info.not_before,
            "not_after": info.not_after, "serial_hex": info.serial_hex,
            "fingerprint_sha256": info.fingerprint_sha256, "cert_path": str(cert_path)}


def _problem(leaf: object, item: Wanted, roots: list[object]) -> str | None:
    if not certs.matches_key(leaf, item.key):  # type: ignore[arg-type]
        return "the certificate does not belong to the key made for it"
    if sorted(certs.sans(leaf)) != sorted(item.names):  # type: ignore[arg-type]
        return f"the certificate names {certs.sans(leaf)}, not {item.names}"  # type: ignore
    if not certs.chains_to(leaf, roots):  # type: ignore[arg-type]
        return "the certificate does not chain to a Cloudflare Origin CA root"
    return None


def _audit_entry(outcome: Outcome, account: str) -> dict[str, object]:
    return {"action": "origin_ca.create", "zone": outcome.request.zone,
            "target": outcome.certificate.id if outcome.certificate else None,
            "result": "ok" if outcome.error is None else "error",
            "ray_id": outcome.ray_id, "detail": f"account {account}"}
