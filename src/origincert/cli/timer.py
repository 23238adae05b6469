"""``origincert timer install|status|remove``: run ``renew`` twice a day."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from origincert.cli.context import AppContext, emit_json

app = typer.Typer(help="The timer that runs `origincert renew` twice a day.",
                  no_args_is_help=True)

SystemdDir = Annotated[Path, typer.Option(help="Where the systemd units go.")]
CronFile = Annotated[Path, typer.Option(help="The cron file, where systemd is absent.")]


@app.command("install")
def install(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option(help="Print the files; change nothing.")] = False,
    mode: Annotated[str, typer.Option(
        help="auto (systemd when it runs here, else cron), systemd or cron.")] = "auto",
    systemd_dir: SystemdDir = Path("/etc/systemd/system"),
    cron_file: CronFile = Path("/etc/cron.d/origincert"),
) -> None:
    """Install the systemd timer (or the cron line) and enable it."""
    from origincert.errors import UsageError
    from origincert.lifecycle import timer

    if mode not in ("auto", "systemd", "cron"):
        raise UsageError(f"--mode {mode} is not known", hint="use auto, systemd or cron")
    plan = timer.plan_install(_self_argv(ctx.obj), mode=timer.choose_mode(mode),
                              systemd_dir=systemd_dir, cron_file=cron_file,
                              refresh_ips=_has_refresh_ips())
    if dry_run:
        for unit in plan.files:
            print(f"# would write {unit.path}\n{unit.text}")
        for argv in plan.commands:
            print(f"# would run: {' '.join(argv)}")
    else:
        for line in timer.apply(plan):
            print(line)
    for note in plan.notes:
        print(f"note: {note}")


@app.command("status")
def status(
    ctx: typer.Context,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable status.")] = False,
    systemd_dir: SystemdDir = Path("/etc/systemd/system"),
    cron_file: CronFile = Path("/etc/cron.d/origincert"),
) -> None:
    """Whether the timer is installed and enabled, and how the last renew run went."""
    from origincert.lifecycle import records, timer

    found = timer.status(systemd_dir, cron_file)
    app_ctx: AppContext = ctx.obj
    last = records.notifications(app_ctx.store, limit=1, event="renew_run")
    found["last_run"] = ({"at": last[0].at.isoformat(), "severity": last[0].severity,
                          "message": last[0].message} if last else None)
    if json_out:
        emit_json(found)
        return
    if not found["installed"]:
        print("timer: not installed; run: origincert timer install")
    for path in found["files"]:  # type: ignore[attr-defined]
        print(f"installed: {path}")
    for key in ("enabled", "active"):
        if key in found:
            print(f"{key}: {found[key]}")
    if found.get("timers"):
        print(found["timers"])
    run = found["last_run"]
    print(f"last renew run: {run['at']}: {run['message']}" if run  # type: ignore[index]
          else "last renew run: none recorded")


@app.command("remove")
def remove(
    dry_run: Annotated[bool, typer.Option(help="Say what would go; change nothing.")] = False,
    systemd_dir: SystemdDir = Path("/etc/systemd/system"),
    cron_file: CronFile = Path("/etc/cron.d/origincert"),
) -> None:
    """Disable and remove the timer (systemd units and cron file)."""
    from origincert.lifecycle import timer

    plan = timer.plan_remove(systemd_dir, cron_file)
    if not plan.files:
        print("timer: nothing installed")
        return
    if dry_run:
        for argv in plan.commands:
            print(f"would run: {' '.join(argv)}")
        for unit in plan.files:
            print(f"would remove {unit.path}")
        return
    for line in timer.apply_remove(plan):
        print(line)


def _self_argv(app_ctx: AppContext) -> list[str]:
    """How the timer runs this origincert, with the state and config folders given here."""
    script = Path(sys.executable).parent / "origincert"
    argv = [str(script)] if script.is_file() else [sys.executable, "-m", "origincert"]
    if app_ctx.state_dir is not None:
        argv += ["--state-dir", str(Path(app_ctx.state_dir).resolve())]
    if app_ctx.config_dir is not None:
        argv += ["--config-dir", str(Path(app_ctx.config_dir).resolve())]
    return argv


def _has_refresh_ips() -> bool:
    """Whether this origincert has `harden --refresh-ips` (the zone best-practices issue)."""
    import typer.main

    from origincert.cli.main import app as main_app

    group = typer.main.get_command(main_app)
    harden = getattr(group, "commands", {}).get("harden")
    return harden is not None and any("--refresh-ips" in getattr(p, "opts", ())
                                      for p in harden.params)
