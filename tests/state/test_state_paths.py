"""Where state and configuration live, and what moves them."""

from __future__ import annotations

from pathlib import Path

from origincert.state.paths import StatePaths


def test_defaults_are_the_system_folders() -> None:
    paths = StatePaths(env={})
    assert paths.state_dir == Path("/var/lib/origincert")
    assert paths.config_dir == Path("/etc/origincert")
    assert paths.db_file == Path("/var/lib/origincert/state.db")
    assert paths.nginx_include_dir == Path("/etc/origincert/nginx")


def test_origincert_home_moves_state_and_config_follows(tmp_path: Path) -> None:
    paths = StatePaths(env={"ORIGINCERT_HOME": str(tmp_path)})
    assert paths.state_dir == tmp_path
    assert paths.config_dir == tmp_path / "etc"


def test_origincert_config_moves_only_config(tmp_path: Path) -> None:
    paths = StatePaths(env={"ORIGINCERT_CONFIG": str(tmp_path / "conf")})
    assert paths.state_dir == Path("/var/lib/origincert")
    assert paths.config_dir == tmp_path / "conf"


def test_explicit_arguments_beat_the_environment(tmp_path: Path) -> None:
    env = {"ORIGINCERT_HOME": "/nowhere", "ORIGINCERT_CONFIG": "/nowhere/etc"}
    paths = StatePaths(tmp_path / "s", tmp_path / "c", env=env)
    assert paths.state_dir == tmp_path / "s"
    assert paths.config_dir == tmp_path / "c"

    only_state = StatePaths(tmp_path / "s", env={})
    assert only_state.config_dir == tmp_path / "s" / "etc"


def test_empty_environment_values_count_as_unset() -> None:
    paths = StatePaths(env={"ORIGINCERT_HOME": "", "ORIGINCERT_CONFIG": ""})
    assert paths.state_dir == Path("/var/lib/origincert")
    assert paths.config_dir == Path("/etc/origincert")


def test_subpaths(tmp_path: Path) -> None:
    paths = StatePaths(tmp_path, tmp_path / "etc", env={})
    assert paths.secret_key_file == tmp_path / "secret.key"
    assert paths.certs_dir == tmp_path / "certs"
    assert paths.live_dir == tmp_path / "live"
    assert paths.log_dir == tmp_path / "log"
    assert paths.journal_dir == tmp_path / "journal"
    assert paths.lock_dir == tmp_path / "lock"
    assert paths.nginx_include_dir == tmp_path / "etc" / "nginx"


def test_relative_paths_become_absolute(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.chdir(tmp_path)
    assert StatePaths("rel", env={}).state_dir == tmp_path / "rel"
