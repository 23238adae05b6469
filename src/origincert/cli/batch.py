"""``origincert issue --all`` / ``--site A --site B``: many sites, one reload."""

from __future__ import annotations

import sys
from typing import Any

from origincert.cli.context import AppContext, emit_json
from origincert.errors import UsageError


def run_batch(app_ctx: AppContext, server: Any, wanted: list[str], options: Any,
              rate_limit: str, concurrency: int, json_out: bool) -> int:
    """Issue for the chosen sites as one batch; exit status 1 if any site failed."""
    from origincert.cloudflare.budget import Budgets, parse
    from origincert.provision.batch import BatchIssuer

    try:
        budgets = Budgets(*parse(rate_limit))
    except ValueError as err:
        raise UsageError(str(err), hint="e.g. --rate-limit 1200/300") from err
    settings = app_ctx.settings
    with _Progress(quiet=json_out) as shown:
        issuer = BatchIssuer(app_ctx.store, server, budgets=budgets, concurrency=concurrency,
                             progress=shown.line, advance=shown.advance,
                             letsencrypt_dir=settings.letsencrypt_dir,
                             acme_sh_home=settings.acme_sh_home)

        def read_sites() -> list[Any]:
            sites = _choose(server.sites(), wanted)
            shown.start(len(sites))
            return sites

        result = issuer.issue_read(read_sites, options)

    if json_out:
        emit_json(result.to_json())
    else:
        _summary(result)
    return 1 if result.failed else 0


def _choose(sites: list[Any], wanted: list[str]) -> list[Any]:
    if not wanted:
        return sites
    chosen = []
    for name in wanted:
        site = next((s for s in sites if s.name == name or name in s.hostnames), None)
        if site is None:
            raise UsageError(f"no site is called {name}", hint="see: origincert sites")
        chosen.append(site)
    return chosen


def _summary(result: Any) -> None:
    done = [o for o in result.outcomes if o.status == "installed"]
    print(f"installed and verified: {len(done)} site(s); failed: {len(result.failed)}; "
          f"{result.api_calls} API call(s), {result.config_tests} config test(s), "
          f"{result.reloads} reload(s)")
    for outcome in result.failed:
        print(f"  failed: {outcome.site}: {outcome.error}")


class _Progress:
    """A progress bar on a terminal, plain lines elsewhere."""

    def __init__(self, *, quiet: bool) -> None:
        self.quiet = quiet
        self.bar: Any = None
        self.task: Any = None

    def __enter__(self) -> _Progress:
        return self

    def start(self, total: int) -> None:
        """The bar, once the sites are counted."""
        if not self.quiet and sys.stdout.isatty():
            from rich.progress import Progress

            self.bar = Progress()
            self.bar.start()
            self.task = self.bar.add_task("sites", total=total)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def line(self, text: str) -> None:
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.console.print(f"  {text}")
        else:
            print(f"  {text}", flush=True)

    def advance(self) -> None:
        if self.bar is not None:
            self.bar.advance(self.task)
