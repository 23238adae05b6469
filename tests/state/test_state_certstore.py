"""Versioned certificate files with an atomically flipped live pointer (C26, hostile names)."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from state_factory import leaf_pem

from origincert.errors import StateError, UsageError
from origincert.pki import MaterialError
from origincert.pki.keys import generate_key, load_key, spki_sha256
from origincert.state.certstore import CertStore, check_lineage, lineage_name
from origincert.state.paths import StatePaths


@pytest.fixture()
def certstore(paths: StatePaths) -> CertStore:
    return CertStore(paths)


def _issue(certstore: CertStore, lineage: str, key_type: str = "ecdsa") -> int:
    key = generate_key(key_type)
    version, _ = certstore.save_key(lineage, key)
    certstore.save_certificate(lineage, version, leaf_pem(key, [lineage]))
    return version


def test_key_is_saved_first_with_mode_0600(certstore: CertStore, paths: StatePaths) -> None:
    key = generate_key("rsa")
    version, key_path = certstore.save_key("example.com", key)

    assert version == 1
    assert key_path == paths.certs_dir / "example.com" / "1" / "privkey.pem"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert spki_sha256(load_key(key_path.read_bytes())) == spki_sha256(key)
    assert stat.S_IMODE(key_path.parent.stat().st_mode) == 0o700


def test_certificate_is_written_beside_its_key(certstore: CertStore) -> None:
    key = generate_key()
    version, key_path = certstore.save_key("example.com", key)
    pem = leaf_pem(key, ["example.com"])
    cert_path = certstore.save_certificate("example.com", version, pem)
    assert cert_path == key_path.parent / "cert.pem"
    assert cert_path.read_bytes() == pem


def test_a_certificate_for_another_key_is_refused(certstore: CertStore) -> None:
    version, key_path = certstore.save_key("example.com", generate_key())
    with pytest.raises(MaterialError, match="does not belong to the key"):
        certstore.save_certificate("example.com", version, leaf_pem(generate_key(), ["x.com"]))
    assert not (key_path.parent / "cert.pem").exists()


def test_every_version_is_kept_and_live_flips(certstore: CertStore, paths: StatePaths) -> None:
    assert certstore.current_version("example.com") is None
    first = _issue(certstore, "example.com")
    second = _issue(certstore, "example.com", "rsa")
    assert certstore.versions("example.com") == [1, 2]

    cert_live, key_live = certstore.live_paths("example.com")
    assert cert_live == paths.live_dir / "example.com" / "cert.pem"
    assert key_live == paths.live_dir / "example.com" / "privkey.pem"

    certstore.point_live("example.com", first)
    assert certstore.current_version("example.com") == 1
    first_cert = certstore.version_dir("example.com", 1) / "cert.pem"
    assert cert_live.read_bytes() == first_cert.read_bytes()
    assert os.readlink(paths.live_dir / "example.com") == "../certs/example.com/1"

    certstore.point_live("example.com", second)
    assert certstore.current_version("example.com") == 2
    assert key_live.resolve() == (certstore.version_dir("example.com", 2) / "privkey.pem").resolve()
    assert (certstore.version_dir("example.com", 1) / "cert.pem").is_file()  # old one kept
    leftovers = [p.name for p in paths.live_dir.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_live_pointer_is_never_missing_while_flipping(certstore: CertStore) -> None:
    _issue(certstore, "example.com")
    _issue(certstore, "example.com")
    certstore.point_live("example.com", 1)
    cert_live, _ = certstore.live_paths("example.com")

    missing: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            if not cert_live.exists():
                missing.append(1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    for round_ in range(200):
        certstore.point_live("example.com", 1 + round_ % 2)
    stop.set()
    watcher.join()
    assert missing == []


def test_a_version_without_its_certificate_cannot_go_live(certstore: CertStore) -> None:
    version, _ = certstore.save_key("example.com", generate_key())
    with pytest.raises(StateError, match="no cert.pem"):
        certstore.point_live("example.com", version)
    with pytest.raises(StateError, match="no key saved"):
        certstore.save_certificate("example.com", 7, b"")


@pytest.mark.parametrize(
    "lineage",
    ["../evil", "..", ".", "", "a/b", "/etc", "evil/..", "a..b", "UPPER", "x\x00y", ".hidden",
     "name.", "*.example.com", "a" * 201],
)
def test_hostile_lineage_names_are_refused(certstore: CertStore, lineage: str) -> None:
    with pytest.raises(UsageError, match="unsafe certificate name"):
        certstore.save_key(lineage, generate_key())
    with pytest.raises(UsageError):
        certstore.live_paths(lineage)


def test_nothing_escapes_the_state_folder(certstore: CertStore, tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        certstore.save_key("../evil", generate_key())
    assert not (tmp_path / "state" / "evil").exists()
    assert not (tmp_path / "evil").exists()


def test_lineage_name_for_hostnames() -> None:
    assert lineage_name("*.Example.com") == "_wildcard_.example.com"
    assert lineage_name("www.example.com") == "www.example.com"
    assert check_lineage("xn--bcher-kva.example.com") == "xn--bcher-kva.example.com"
    with pytest.raises(UsageError):
        lineage_name("../../etc/passwd")


def test_versions_count_up_past_gaps(certstore: CertStore, paths: StatePaths) -> None:
    _issue(certstore, "example.com")
    (paths.certs_dir / "example.com" / "5").mkdir()
    version, _ = certstore.save_key("example.com", generate_key())
    assert version == 6
    assert certstore.lineages() == ["example.com"]
