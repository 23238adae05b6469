"""Issue #8: the timer's systemd units pass `systemd-analyze verify`; cron where no systemd."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from origincert.lifecycle import timer


def cli(tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "origincert", "--state-dir", str(tmp_path / "state"),
            "--config-dir", str(tmp_path / "config"), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def test_the_timer_units_pass_systemd_analyze_verify(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing: install Debian's systemd package "
                    "(scripts/dev.sh setup does)")
    units = tmp_path / "units"
    units.mkdir()

    done = cli(tmp_path, "timer", "install", "--mode", "systemd", "--systemd-dir", str(units))

    assert done.returncode == 0, done.stderr
    service, timer_unit = units / "origincert-renew.service", units / "origincert-renew.timer"
    assert timer.verify([timer_unit, service]) == ""
    text = timer_unit.read_text()
    assert "OnCalendar=*-*-* 00,12:00:00" in text
    assert "RandomizedDelaySec=1h" in text and "Persistent=true" in text
    assert "renew --quiet" in service.read_text()
    assert f"--state-dir {tmp_path / 'state'}" in service.read_text()


def test_a_broken_unit_fails_the_verification(tmp_path):
    unit = tmp_path / "origincert-renew.timer"
    unit.write_text("[Timer]\nOnCalendar=every full moon\n")
    assert timer.verify([unit]) != ""


def test_cron_line_status_and_remove(tmp_path):
    cron = tmp_path / "cron.d" / "origincert"
    cron.parent.mkdir()

    dry = cli(tmp_path, "timer", "install", "--mode", "cron", "--cron-file", str(cron),
              "--dry-run")
    assert dry.returncode == 0 and not cron.exists(), dry.stderr
    done = cli(tmp_path, "timer", "install", "--mode", "cron", "--cron-file", str(cron))
    assert done.returncode == 0, done.stderr

    line = next(ln for ln in cron.read_text().splitlines() if ln.endswith("renew --quiet"))
    minute, hours, *_rest = line.split()
    first, second = (int(h) for h in hours.split(","))
    assert 0 <= int(minute) < 60 and second == first + 12
    assert " root " in line

    status = cli(tmp_path, "timer", "status", "--json", "--cron-file", str(cron),
                 "--systemd-dir", str(tmp_path / "none"))
    assert status.returncode == 0, status.stderr
    assert '"installed": true' in status.stdout

    removed = cli(tmp_path, "timer", "remove", "--cron-file", str(cron),
                  "--systemd-dir", str(tmp_path / "none"))
    assert removed.returncode == 0, removed.stderr
    assert not cron.exists()
