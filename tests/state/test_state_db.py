"""The SQLite store: file modes, accounts, certificates, installations, audit, journal."""

from __future__ import annotations

import sqlite3
import stat
from datetime import datetime, timedelta, timezone

import pytest
from state_factory import Clock

from origincert.errors import StateError, UsageError
from origincert.secret import Secret
from origincert.state.db import Store
from origincert.state.models import SCHEMA_VERSION
from origincert.state.paths import StatePaths


def _mode(path) -> int:  # noqa: ANN001
    return stat.S_IMODE(path.stat().st_mode)


def test_db_file_is_0600_folder_0700_and_wal(store: Store, paths: StatePaths) -> None:
    store.audit("origin_ca.create")
    assert _mode(paths.db_file) == 0o600
    assert _mode(paths.state_dir) == 0o700
    for sidecar in ("state.db-wal", "state.db-shm"):
        side = paths.state_dir / sidecar
        if side.exists():
            assert _mode(side) == 0o600

    with sqlite3.connect(paths.db_file) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("SELECT version FROM schema_version").fetchone()[0] == SCHEMA_VERSION


def test_reopening_keeps_the_data(paths: StatePaths, clock: Clock) -> None:
    with Store(paths, clock=clock) as store:
        store.add_account("main", "token", Secret("tok-1"))
    with Store(paths, clock=clock) as store:
        assert [a.name for a in store.list_accounts()] == ["main"]


def test_a_newer_schema_is_refused(paths: StatePaths, clock: Clock) -> None:
    Store(paths, clock=clock).close()
    with sqlite3.connect(paths.db_file) as raw:
        raw.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    with pytest.raises(StateError, match="newer origincert"):
        Store(paths, clock=clock)


def test_accounts_add_get_list_remove(store: Store, clock: Clock) -> None:
    store.add_account("zeta", "token", Secret("tok-z"), api_base="http://127.0.0.1:8787/client/v4")
    store.add_account("alpha", "global_key", Secret("key-a"), email="a@example.com")

    assert [a.name for a in store.list_accounts()] == ["alpha", "zeta"]
    alpha = store.get_account("alpha")
    assert alpha.kind == "global_key"
    assert alpha.email == "a@example.com"
    assert alpha.created_at == clock.now
    assert alpha.verified_at is None
    assert store.get_account("zeta").api_base.endswith("/client/v4")

    store.remove_account("zeta")
    assert store.find_account("zeta") is None
    with pytest.raises(UsageError, match="no account named zeta"):
        store.get_account("zeta")


def test_duplicate_or_bad_accounts_are_refused(store: Store) -> None:
    store.add_account("main", "token", Secret("t"))
    with pytest.raises(UsageError, match="already exists"):
        store.add_account("main", "token", Secret("t2"))
    with pytest.raises(UsageError, match="unknown account kind"):
        store.add_account("other", "origin_ca_key", Secret("t"))
    with pytest.raises(UsageError, match="empty"):
        store.add_account("other", "token", Secret.from_input("  \n"))
    with pytest.raises(TypeError):
        store.add_account("other", "token", "plain-string")  # type: ignore[arg-type]


def test_verification_report_is_kept(store: Store, clock: Clock) -> None:
    store.add_account("main", "token", Secret("t"))
    clock.advance(hours=1)
    store.record_verification("main", {"status": "active", "zones": ["example.com"]})
    account = store.get_account("main")
    assert account.report_json == {"status": "active", "zones": ["example.com"]}
    assert account.verified_at == clock.now


def test_certificate_lifecycle_fields(store: Store, clock: Clock) -> None:
    account = store.add_account("main", "token", Secret("t"))
    first = store.record_certificate(
        lineage="example.com", hostnames=["example.com", "*.example.com"], key_type="ecdsa",
        request_type="origin-ecc", validity_days=5475, version=1,
        key_path="/s/certs/example.com/1/privkey.pem", account_id=account.id, zone_ids=["z1"],
    )
    cert = store.get_certificate(first)
    assert cert.status == "requested"
    assert cert.hostnames == ["example.com", "*.example.com"]
    assert cert.created_at == clock.now

    not_after = clock.now + timedelta(days=5475)
    store.update_certificate(
        first, status="issued", cf_id="0x4753", not_before=clock.now, not_after=not_after,
        serial_hex="4753", fingerprint_sha256="ab" * 32,
    )
    second = store.record_certificate(
        lineage="example.com", hostnames=["example.com"], key_type="rsa",
        request_type="origin-rsa", validity_days=90, version=2,
    )
    store.update_certificate(first, status="superseded", replaced_by=second,
                             revoked_at=clock.now)

    again = store.get_certificate(first)
    assert again.not_after == not_after
    assert again.not_after.tzinfo is not None
    assert again.replaced_by == second
    assert [c.id for c in store.certificates(lineage="example.com")] == [first, second]
    assert [c.id for c in store.certificates(status="requested")] == [second]
    assert [c.id for c in store.certificates(status=["superseded", "requested"])] == [
        first, second,
    ]
    assert store.certificates(lineage="other.com") == []


def test_certificate_updates_are_checked(store: Store) -> None:
    cert_id = store.record_certificate(
        lineage="example.com", hostnames=["example.com"], key_type="ecdsa",
        request_type="origin-ecc", validity_days=7, version=1,
    )
    with pytest.raises(ValueError, match="status"):
        store.update_certificate(cert_id, status="lost")
    with pytest.raises(TypeError, match="lineage"):
        store.update_certificate(cert_id, lineage="../x")
    with pytest.raises(StateError, match="no certificate"):
        store.update_certificate(9999, status="issued")
    with pytest.raises(ValueError):
        store.update_certificate(cert_id, not_after=datetime(2030, 1, 1))  # naive


def test_removing_an_account_keeps_its_certificates(store: Store) -> None:
    account = store.add_account("main", "token", Secret("t"))
    cert_id = store.record_certificate(
        lineage="example.com", hostnames=["example.com"], key_type="ecdsa",
        request_type="origin-ecc", validity_days=7, version=1, account_id=account.id,
    )
    store.remove_account("main")
    assert store.get_certificate(cert_id).account_id is None


def test_installations(store: Store, clock: Clock) -> None:
    cert_id = store.record_certificate(
        lineage="example.com", hostnames=["example.com"], key_type="ecdsa",
        request_type="origin-ecc", validity_days=7, version=1,
    )
    inst = store.record_installation(cert_id, "nginx", "example.com", ["/etc/nginx/a.conf"])
    assert store.installations(cert_id)[0].config_files == ["/etc/nginx/a.conf"]
    clock.advance(days=1)
    store.mark_installation_removed(inst)
    assert store.installations(cert_id, active_only=True) == []
    assert store.installations()[0].removed_at == clock.now


def test_audit_log_newest_first_and_no_secret_objects(store: Store, clock: Clock) -> None:
    store.audit("origin_ca.create", zone="example.com", target="0x4753", ray_id="8f0e-AMS",
                actor="cli:root")
    clock.advance(minutes=1)
    store.audit("zone.settings.ssl", result="error", zone="example.com", detail="code 9109")

    newest, oldest = store.audit_entries(limit=10)
    assert newest.action == "zone.settings.ssl"
    assert newest.result == "error"
    assert newest.actor.startswith("cli:")
    assert oldest.ray_id == "8f0e-AMS"
    assert oldest.at == clock.now - timedelta(minutes=1)
    assert len(store.audit_entries(limit=1)) == 1

    with pytest.raises(TypeError, match="Secret"):
        store.audit("x", detail=Secret("t"))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        store.audit("x", result="maybe")


def test_journal_tracks_unfinished_runs(store: Store, clock: Clock) -> None:
    run = store.journal_begin("issue", lineage="example.com", state={"files": ["/a"]})
    other = store.journal_begin("uninstall", lineage="shop.example.com")
    store.journal_step(run, "config_written", {"files": ["/a"], "backup": "/b"})

    entry = store.journal_get(run)
    assert entry.step == "config_written"
    assert entry.state_json == {"files": ["/a"], "backup": "/b"}
    assert [e.id for e in store.journal_unfinished()] == [run, other]

    clock.advance(seconds=5)
    store.journal_finish(run)
    assert [e.id for e in store.journal_unfinished()] == [other]
    assert store.journal_get(run).finished_at == clock.now
    with pytest.raises(StateError):
        store.journal_step(12345, "x")


def test_stored_times_are_utc_aware(store: Store) -> None:
    offset = timezone(timedelta(hours=2))
    cert_id = store.record_certificate(
        lineage="example.com", hostnames=["example.com"], key_type="ecdsa",
        request_type="origin-ecc", validity_days=7, version=1,
    )
    local = datetime(2030, 1, 1, 14, 0, tzinfo=offset)
    store.update_certificate(cert_id, not_after=local)
    stored = store.get_certificate(cert_id).not_after
    assert stored == local
    assert stored.utcoffset() == timedelta(0)
