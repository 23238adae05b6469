"""Secrets at rest (issue 4 item 4): sealed, bound to their account, key kept private."""

from __future__ import annotations

import os
import stat

import pytest
from state_factory import Clock

from origincert.errors import StateError
from origincert.secret import Secret
from origincert.state.db import Store
from origincert.state.paths import StatePaths
from origincert.state.vault import KEY_ENV, Vault, generate_key_text

TOKEN = "Zq8vTOKEN-plaintext-must-never-hit-disk-4711"
GLOBAL_KEY = "0123456789abcdef0123456789abcdefGLOBAL"


def _all_state_bytes(paths: StatePaths) -> bytes:
    blob = b""
    for root, _dirs, files in os.walk(paths.state_dir):
        for name in files:
            with open(os.path.join(root, name), "rb") as handle:
                blob += handle.read()
    return blob


def test_database_files_never_contain_the_plaintext(store: Store, paths: StatePaths) -> None:
    store.add_account("main", "token", Secret(TOKEN))
    store.add_account("legacy", "global_key", Secret(GLOBAL_KEY), email="ops@example.com")
    store.audit("origin_ca.create", zone="example.com", target="cert 1", ray_id="8f0e-AMS")
    store.close()

    raw = _all_state_bytes(paths)
    assert b"ops@example.com" in raw  # the raw bytes are really the database's
    for value in (TOKEN, GLOBAL_KEY):
        assert value.encode() not in raw
        assert value.encode("utf-16-le") not in raw


def test_sealed_secret_opens_back(store: Store) -> None:
    account = store.add_account("main", "token", Secret(TOKEN))
    assert store.account_secret("main") == Secret(TOKEN)
    assert store.account_secret(account).reveal() == TOKEN
    assert account.secret_fingerprint == Secret(TOKEN).fingerprint()
    assert TOKEN not in repr(account)


def test_key_file_is_created_once_with_mode_0600(store: Store, paths: StatePaths) -> None:
    store.add_account("main", "token", Secret(TOKEN))
    key_file = paths.secret_key_file
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    first = key_file.read_bytes()

    again = Vault.load(paths, env={})
    assert key_file.read_bytes() == first
    assert again.key_id == store.vault.key_id
    assert [p.name for p in paths.state_dir.iterdir() if p.name.startswith(".secret")] == []


def test_a_wrong_key_is_a_state_error_saying_what_to_do(
    paths: StatePaths, clock: Clock
) -> None:
    with Store(paths, clock=clock) as store:
        store.add_account("main", "token", Secret(TOKEN))
    paths.secret_key_file.unlink()

    with Store(paths, clock=clock) as store:
        with pytest.raises(StateError, match="sealed with another secret key") as caught:
            store.account_secret("main")
    assert "restore the secret key" in caught.value.one_line()
    assert "re-add" in caught.value.one_line() or "add it again" in caught.value.one_line()


def test_tampered_ciphertext_fails_its_integrity_check() -> None:
    vault = Vault(os.urandom(32))
    blob = bytearray(vault.seal(Secret(TOKEN), context="main"))
    blob[-1] ^= 0x01
    with pytest.raises(StateError, match="integrity check"):
        vault.open(bytes(blob), context="main")
    with pytest.raises(StateError, match="damaged"):
        vault.open(b"\x01abc", context="main")


def test_ciphertext_moved_to_another_account_does_not_open() -> None:
    vault = Vault(os.urandom(32))
    blob = vault.seal(Secret(TOKEN), context="alice")
    assert vault.open(blob, context="alice").reveal() == TOKEN
    with pytest.raises(StateError, match="integrity check"):
        vault.open(blob, context="mallory")


def test_key_from_the_environment_wins_and_writes_no_file(paths: StatePaths) -> None:
    env = {KEY_ENV: generate_key_text()}
    vault = Vault.load(paths, env=env)
    blob = vault.seal(Secret(TOKEN))
    assert not paths.secret_key_file.exists()
    assert Vault.load(paths, env=env).open(blob).reveal() == TOKEN


@pytest.mark.parametrize("bad", ["not base64!!", "c2hvcnQ="])
def test_a_malformed_environment_key_is_refused(paths: StatePaths, bad: str) -> None:
    with pytest.raises(StateError, match=KEY_ENV):
        Vault.load(paths, env={KEY_ENV: bad})


def test_a_key_file_readable_by_others_is_refused(paths: StatePaths) -> None:
    Vault.load(paths, env={})
    os.chmod(paths.secret_key_file, 0o644)
    with pytest.raises(StateError, match="readable by others") as caught:
        Vault.load(paths, env={})
    assert "chmod 600" in caught.value.one_line()


def test_vault_repr_shows_no_key() -> None:
    key = os.urandom(32)
    assert key.hex() not in repr(Vault(key))
