"""The timer that runs ``renew`` twice a day: systemd units, or a cron line without systemd.

systemd (when it runs this machine, or when asked)::

    origincert-renew.service   Type=oneshot, runs `origincert renew --quiet`
    origincert-renew.timer     00:00 and 12:00, RandomizedDelaySec=1h, Persistent=true

    origincert-refresh-ips.service / .timer   daily `origincert harden --refresh-ips`,
        written only when this origincert has that command (the Cloudflare address
        ranges refresh of the zone best-practices issue); `timer install` run again
        after an upgrade adds it.

They go to a configurable folder (default ``/etc/systemd/system``); when systemd
runs, ``systemctl daemon-reload`` and ``systemctl enable --now`` follow.
Without systemd, one file ``/etc/cron.d/origincert`` holds the same schedule,
at a minute and hours drawn at random when it is installed (cron has no
randomized delay), so machines do not all call Cloudflare at the same moment.
"""

from __future__ import annotations

import random
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from origincert.errors import OriginCertError
from origincert.files import remove, write_atomic
from origincert.runner import run

SYSTEMD_DIR = Path("/etc/systemd/system")
CRON_FILE = Path("/etc/cron.d/origincert")
RENEW = "origincert-renew"
REFRESH = "origincert-refresh-ips"
SYSTEMD_RUNNING = Path("/run/systemd/system")


@dataclass
class UnitFile:
    path: Path
    text: str


@dataclass
class TimerPlan:
    mode: str                                   # "systemd" or "cron"
    files: list[UnitFile]
    commands: list[list[str]] = field(default_factory=list)  # systemctl calls, in order
    notes: list[str] = field(default_factory=list)


def systemd_running() -> bool:
    """True when systemd is PID 1 here (what sd_booted() checks)."""
    return SYSTEMD_RUNNING.is_dir()


def choose_mode(asked: str) -> str:
    if asked in ("systemd", "cron"):
        return asked
    return "systemd" if systemd_running() else "cron"


def plan_install(origincert: list[str], *, mode: str, systemd_dir: Path = SYSTEMD_DIR,
                 cron_file: Path = CRON_FILE, refresh_ips: bool = False,
                 rng: random.Random | None = None) -> TimerPlan:
    """The files (and systemctl calls) that install the timer; nothing is written yet.

    ``origincert`` is the argv that runs this origincert, with its global options
    (state and config folders) when they are not the defaults.
    """
    if mode == "cron":
        return _cron_plan(origincert, cron_file, refresh_ips, rng or random.Random())
    files = [UnitFile(systemd_dir / f"{RENEW}.service", _service(
                 "renew Cloudflare Origin CA certificates that need it",
                 [*origincert, "renew", "--quiet"])),
             UnitFile(systemd_dir / f"{RENEW}.timer", _timer(
                 "run origincert renew twice a day", "*-*-* 00,12:00:00", "1h"))]
    timers = [f"{RENEW}.timer"]
    notes = []
    if refresh_ips:
        files += [UnitFile(systemd_dir / f"{REFRESH}.service", _service(
                      "refresh the Cloudflare IP ranges the web server trusts",
                      [*origincert, "harden", "--refresh-ips"])),
                  UnitFile(systemd_dir / f"{REFRESH}.timer", _timer(
                      "refresh the Cloudflare IP ranges daily", "daily", "1h"))]
        timers.append(f"{REFRESH}.timer")
    else:
        notes.append("Cloudflare IP ranges refresh: this origincert has no "
                     "`harden --refresh-ips`; run `origincert timer install` again after "
                     "an upgrade that adds it")
    plan = TimerPlan("systemd", files, notes=notes)
    if systemd_running():
        plan.commands = [["systemctl", "daemon-reload"],
                         ["systemctl", "enable", "--now", *timers]]
    else:
        plan.notes.append("systemd is not running here: the units are written but not "
                          f"enabled; enable them with: systemctl enable --now {' '.join(timers)}")
    return plan


def apply(plan: TimerPlan) -> list[str]:
    """Write the files, then run the systemctl calls; returns what was done."""
    done = []
    for unit in plan.files:
        if not unit.path.parent.is_dir():
            missing = "cron" if plan.mode == "cron" else "systemd"
            raise OriginCertError(f"{unit.path.parent} does not exist: is {missing} installed?",
                                  hint="choose the other with --mode, or give the folder")
        write_atomic(unit.path, unit.text, mode=0o644)
        done.append(f"wrote {unit.path}")
    for argv in plan.commands:
        _systemctl(argv)
        done.append("ran " + " ".join(argv))
    return done


def installed_files(systemd_dir: Path = SYSTEMD_DIR, cron_file: Path = CRON_FILE) -> list[Path]:
    candidates = [systemd_dir / f"{name}.{kind}" for name in (RENEW, REFRESH)
                  for kind in ("service", "timer")] + [cron_file]
    return [path for path in candidates if path.exists()]


def status(systemd_dir: Path = SYSTEMD_DIR, cron_file: Path = CRON_FILE) -> dict[str, object]:
    files = installed_files(systemd_dir, cron_file)
    found: dict[str, object] = {"files": [str(p) for p in files],
                                "installed": bool(files), "systemd_running": systemd_running()}
    if systemd_running() and (systemd_dir / f"{RENEW}.timer").exists():
        enabled = run(["systemctl", "is-enabled", f"{RENEW}.timer"], timeout=30)
        active = run(["systemctl", "is-active", f"{RENEW}.timer"], timeout=30)
        listed = run(["systemctl", "list-timers", "--all", "--no-pager", f"{RENEW}.timer"],
                     timeout=30)
        found |= {"enabled": enabled.stdout.strip(), "active": active.stdout.strip(),
                  "timers": listed.stdout.strip()}
    return found


def plan_remove(systemd_dir: Path = SYSTEMD_DIR, cron_file: Path = CRON_FILE) -> TimerPlan:
    files = installed_files(systemd_dir, cron_file)
    plan = TimerPlan("remove", [UnitFile(path, "") for path in files])
    timers = [p.name for p in files if p.suffix == ".timer"]
    if systemd_running() and timers:
        plan.commands = [["systemctl", "disable", "--now", *timers]]
    return plan


def apply_remove(plan: TimerPlan) -> list[str]:
    done = []
    for argv in plan.commands:
        _systemctl(argv)
        done.append("ran " + " ".join(argv))
    for unit in plan.files:
        remove(unit.path)
        done.append(f"removed {unit.path}")
    if systemd_running() and any(u.path.suffix == ".timer" for u in plan.files):
        _systemctl(["systemctl", "daemon-reload"])
        done.append("ran systemctl daemon-reload")
    return done


def verify(paths: list[Path]) -> str:
    """``systemd-analyze verify`` on unit files; returns its complaints ("" when clean)."""
    done = run(["systemd-analyze", "verify", *[str(p) for p in paths]], timeout=60)
    if done.returncode == 127:
        raise OriginCertError("systemd-analyze is not installed",
                              hint="install Debian's systemd package")
    return "" if done.ok and not done.stderr.strip() else done.output or "failed"


def _service(what: str, argv: list[str]) -> str:
    return (
        "# Written by `origincert timer install`; `origincert timer remove` removes it.\n"
        "[Unit]\n"
        f"Description=origincert: {what}\n"
        "Wants=network-online.target\n"
        "After=network-online.target\n"
        "\n"
        "[Service]\n"
        "Type=oneshot\n"
        f"ExecStart={_exec(argv)}\n"
        "# keys are written 0600 anyway; nothing else it writes needs to be readable\n"
        "UMask=0077\n"
        "Nice=10\n"
    )


def _timer(what: str, calendar: str, delay: str) -> str:
    return (
        "# Written by `origincert timer install`; `origincert timer remove` removes it.\n"
        "[Unit]\n"
        f"Description=origincert: {what}\n"
        "\n"
        "[Timer]\n"
        f"OnCalendar={calendar}\n"
        f"RandomizedDelaySec={delay}\n"
        "# a run missed while the machine was off happens at the next boot\n"
        "Persistent=true\n"
        "\n"
        "[Install]\n"
        "WantedBy=timers.target\n"
    )


def _cron_plan(origincert: list[str], cron_file: Path, refresh_ips: bool,
               rng: random.Random) -> TimerPlan:
    minute, hour = rng.randrange(60), rng.randrange(12)
    lines = [
        "# Written by `origincert timer install`; `origincert timer remove` removes it.",
        "# Renew twice a day, at a minute and hours drawn when it was installed.",
        "SHELL=/bin/sh",
        "PATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin",
        f"{minute} {hour},{hour + 12} * * * root {_cron(origincert + ['renew', '--quiet'])}",
    ]
    notes = []
    if refresh_ips:
        lines.append(f"{(minute + 30) % 60} {hour} * * * root "
                     f"{_cron(origincert + ['harden', '--refresh-ips'])}")
    else:
        notes.append("Cloudflare IP ranges refresh: this origincert has no "
                     "`harden --refresh-ips`; run `origincert timer install` again after "
                     "an upgrade that adds it")
    return TimerPlan("cron", [UnitFile(cron_file, "\n".join(lines) + "\n")], notes=notes)


def _exec(argv: list[str]) -> str:
    # systemd's own quoting is close to the shell's for plain words and double quotes
    return " ".join(_quote_systemd(part) for part in argv)


def _quote_systemd(word: str) -> str:
    word = word.replace("%", "%%").replace("$", "$$")  # specifiers and variables
    if word and all(c.isalnum() or c in "/._-=:,%$" for c in word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _cron(argv: list[str]) -> str:
    # "%" is a newline to cron: escape it
    return " ".join(shlex.quote(part) for part in argv).replace("%", "\\%")


def _systemctl(argv: list[str]) -> None:
    done = run(argv, timeout=120)
    if not done.ok:
        raise OriginCertError(f"{' '.join(argv)} failed: {done.output or done.returncode}",
                              hint="see: journalctl -xe")
