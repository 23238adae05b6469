"""The ``origincert`` command.

Heavy imports (the SDK, cryptography, SQLAlchemy) happen inside the commands,
so that ``origincert --version`` and ``--help`` start quickly.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from origincert import __version__
from origincert.cli import account, certs, demo, issue, sandbox_cmd, sites
from origincert.cli import log_cmd
from origincert.cli import doctor
from origincert.cli import harden
from origincert.cli import serve
from origincert.cli import uninstall
from origincert.cli import renew, revoke, timer
from origincert.cli.context import AppContext
from origincert.errors import OriginCertError

app = typer.Typer(
    name="origincert",
    help="Verified Full (strict) HTTPS behind Cloudflare, with Origin CA certificates.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(account.app, name="account")
app.command("issue")(issue.issue)
app.command("certs")(certs.certs)
app.command("sites")(sites.sites)
app.command("recover")(issue.recover)
app.command("uninstall")(uninstall.uninstall)
app.command("demo")(demo.demo)
app.command("sandbox")(sandbox_cmd.sandbox)
app.command("log")(log_cmd.log)
app.command("doctor")(doctor.doctor)
app.command("harden")(harden.harden)
app.command("renew")(renew.renew)
app.command("revoke")(revoke.revoke)
app.add_typer(timer.app, name="timer")
app.command("serve")(serve.serve)


def _version(value: bool) -> None:
    if value:
        print(f"origincert {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    state_dir: Annotated[Optional[Path], typer.Option(
        help="State folder (default /var/lib/origincert, or $ORIGINCERT_HOME).")] = None,
    config_dir: Annotated[Optional[Path], typer.Option(
        help="Configuration folder (default /etc/origincert, or $ORIGINCERT_CONFIG).")] = None,
    webserver: Annotated[Optional[str], typer.Option(
        help="nginx, apache or caddy (default: the one running here).")] = None,
    nginx_conf: Annotated[Optional[Path], typer.Option(help="nginx main config.")] = None,
    nginx_prefix: Annotated[Optional[Path], typer.Option(help="nginx -p prefix.")] = None,
    nginx_binary: Annotated[Optional[str], typer.Option(help="nginx program.")] = None,
    apache_conf_dir: Annotated[Optional[Path], typer.Option(
        help="Apache configuration folder (APACHE_CONFDIR).")] = None,
    apache_ctl: Annotated[Optional[str], typer.Option(help="apache2ctl program.")] = None,
    caddyfile: Annotated[Optional[Path], typer.Option(help="The Caddyfile.")] = None,
    caddy_binary: Annotated[Optional[str], typer.Option(help="caddy program.")] = None,
    caddy_admin: Annotated[Optional[str], typer.Option(
        help="Caddy's admin address for reloads.")] = None,
    reload_command: Annotated[Optional[str], typer.Option(
        help="Command that reloads the web server, e.g. 'systemctl reload nginx'.")] = None,
    letsencrypt_dir: Annotated[Optional[Path], typer.Option(
        help="certbot's folder, to find renewals of the same names.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
    version: Annotated[Optional[bool], typer.Option(
        "--version", callback=_version, is_eager=True, help="Show the version.")] = None,
) -> None:
    ctx.obj = AppContext(
        state_dir=state_dir, config_dir=config_dir, verbose=verbose,
        overrides={"letsencrypt_dir": letsencrypt_dir} | _overrides(
            webserver, reload_command,
            nginx_conf=nginx_conf, nginx_prefix=nginx_prefix, nginx_binary=nginx_binary,
            apache_conf_dir=apache_conf_dir, apache_ctl=apache_ctl,
            caddy_caddyfile=caddyfile, caddy_binary=caddy_binary, caddy_admin_address=caddy_admin,
        ),
    )


def _overrides(webserver: str | None, reload_command: str | None,
               **options: object) -> dict[str, object]:
    """Per-server options; --reload-command goes to the server they name."""
    given = {k: v for k, v in options.items() if v is not None}
    if reload_command:
        kinds = {k.split("_", 1)[0] for k in given} | ({webserver} if webserver else set())
        kind = kinds.pop() if len(kinds) == 1 else None
        given[f"{kind or 'any'}_reload_command"] = reload_command
    return {"webserver": webserver, **given}


def run() -> None:
    """Entry point: one line for a known failure, a bug notice for anything else."""
    try:
        app(standalone_mode=True)
    except OriginCertError as err:
        print(f"origincert: error: {err.one_line()}", file=sys.stderr)
        sys.exit(err.exit_status)
    except KeyboardInterrupt:
        print("origincert: interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as err:  # a bug: say so, keep the traceback in the log
        import logging

        logging.getLogger("origincert").exception("unexpected error")
        print(f"origincert: unexpected error (this is a bug): {type(err).__name__}: {err}",
              file=sys.stderr)
        sys.exit(1)
