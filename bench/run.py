"""The batch benchmark of issue 10: python -m bench.run (as root; see bench/README.md).

Everything runs in a private network namespace: the sandbox (with per-call
latency and a rate limit), one private nginx with N generated sites, and the
real CLI. Two regimes, as the issue sets them:

* budget binds: 2,000 sites / 40 zones, 1,200 requests per 60 s window
  (Cloudflare's budget with time compressed five times), 50 ms per call;
  the lower bound is one full window, since 2,000 calls cannot fit in one;
* latency binds: 500 sites / 10 zones, no binding budget, 100 ms per call;
  the batch is compared with a naive run over the same sites (one site at a
  time: zone lookup, issuance, config test and reload for each).

Also the CLI's start time. Results go to bench/results/latest.json and a table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from bench.generate import Generated, generate

RESULTS = Path(__file__).parent / "results"


@dataclass
class Figures:
    regime: str
    sites: int
    zones: int
    latency_ms: int
    budget: str
    wall_s: float = 0.0
    lower_bound_s: float | None = None
    api_calls: int = 0
    calls_per_site: float = 0.0
    config_tests: int = 0
    reloads: int = 0
    peak_mb: float = 0.0
    failed: int = 0
    naive: dict[str, float] = field(default_factory=dict)
    timeline: list[str] = field(default_factory=list)


def main() -> int:
    args = _arguments()
    if os.geteuid() != 0:
        print("bench: run as root (it runs nginx privately on ports 80 and 443)", file=sys.stderr)
        return 1
    from origincert.demo.netns import enter_private_network

    enter_private_network()
    work = Path(args.work)
    found = {"start": _start_times()}
    if "budget" in args.regimes:
        found["budget"] = asdict(_regime("budget", work, args.budget_sites, 40, 50,
                                         (1200, 60.0), naive=False))
    if "latency" in args.regimes:
        found["latency"] = asdict(_regime("latency", work, args.latency_sites, 10, 100,
                                          (1_000_000, 300.0), naive=True,
                                          naive_sample=args.naive_sample))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(found, indent=2))
    _table(found)
    return 0


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="/tmp/origincert-bench")
    parser.add_argument("--regimes", nargs="+", default=["budget", "latency"])
    parser.add_argument("--budget-sites", type=int, default=2000)
    parser.add_argument("--latency-sites", type=int, default=500)
    parser.add_argument("--naive-sample", type=int, default=0,
                        help="time the naive run on this many sites only and scale (0: all)")
    return parser.parse_args()


def _regime(name: str, work: Path, sites: int, zones: int, latency_ms: int,
            budget: tuple[int, float], *, naive: bool, naive_sample: int = 0) -> Figures:
    from origincert.sandbox import Sandbox, SandboxSettings

    figures = Figures(name, sites, zones, latency_ms, f"{budget[0]}/{budget[1]:.0f}s")
    shutil.rmtree(work / name, ignore_errors=True)  # a run starts from nothing
    made = generate(work / name / "batch", sites, zones)
    settings = SandboxSettings(latency_ms=latency_ms, rate_limit=budget)
    with Sandbox.start(made.world, state_dir=work / name / "sandbox",
                       settings=settings) as sb:
        with _Nginx(made):
            _batch(figures, work / name, made, sb, budget)
        if naive:
            figures.naive = _naive(work / name, sites, zones, made, sb, naive_sample)
    return figures


def _batch(figures: Figures, folder: Path, made: Generated, sb, budget: tuple[int, float]
           ) -> None:  # type: ignore[no-untyped-def]
    cli = _Cli(folder / "state-batch", made, sb.base_url)
    cli.connect()
    sb.reset_rate_limit()
    sb.request_log.clear()
    started, since = time.monotonic(), time.time()
    result, peak = cli.run_json("issue", "--all", "--no-zone", "--json",
                                "--rate-limit", f"{budget[0]}/{budget[1]:.0f}",
                                "--concurrency", "64")
    figures.wall_s = round(time.monotonic() - started, 2)
    figures.timeline = _timeline(folder / "state-batch" / "log" / "origincert.log", since)
    figures.api_calls = len(sb.request_log)
    figures.calls_per_site = round(figures.api_calls / figures.sites, 3)
    figures.config_tests, figures.reloads = result["config_tests"], result["reloads"]
    figures.failed, figures.peak_mb = result["failed"], peak
    if figures.sites > budget[0]:
        figures.lower_bound_s = budget[1]


# The batch's stage lines in its log: where the wall time went.
_STAGES = re.compile(r"batch |transaction step|budget spent|bulk issuance|config test|reload ok")


def _timeline(log: Path, since: float) -> list[str]:
    """``+12.3 s  batch prepared ...`` for each stage line the run logged."""
    lines = []
    for line in log.read_text().splitlines():
        stamp, _, rest = line.partition(" info ")
        try:
            at = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
        except ValueError:
            continue
        if at >= since - 1 and _STAGES.search(rest):
            lines.append(f"{at - since:+7.2f} s  {rest.split(' ', 1)[1][:90]}")
    return lines


def _naive(folder: Path, sites: int, zones: int, batch: Generated, sb, sample: int
           ) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """One site at a time through the single-site path, on the same sites."""
    made = generate(folder / "naive", sites, zones)
    sb.reset()
    sb.request_log.clear()
    count = sample or sites
    with _Nginx(made):
        from origincert.provision.issue import IssueOptions, Issuer
        from origincert.settings import load
        from origincert.state.db import Store
        from origincert.webserver.factory import open_webserver

        cli = _Cli(folder / "state-naive", made, sb.base_url)
        cli.connect()
        settings = load(folder / "state-naive", None, nginx_conf=made.conf,
                        nginx_prefix=made.root)
        store, server = Store(settings.paths), open_webserver(settings)
        issuer = Issuer(store, server, progress=lambda line: None)
        started = time.monotonic()
        for name in made.hostnames[:count]:
            issuer.issue([name], IssueOptions(zone=False))
        spent = time.monotonic() - started
    return {"sites_timed": count, "wall_s": round(spent * sites / count, 2),
            "api_calls_per_site": round(len(sb.request_log) / count, 2),
            "config_tests": count, "reloads": count}


class _Cli:
    def __init__(self, state: Path, made: Generated, api_base: str) -> None:
        self.base = [sys.executable, "-m", "origincert", "--state-dir", str(state),
                     "--nginx-conf", str(made.conf), "--nginx-prefix", str(made.root)]
        self.made, self.api_base, self.state = made, api_base, state
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDFLARE_")}

    def connect(self) -> None:
        self.state.mkdir(parents=True, exist_ok=True)
        token = self.state / "token"
        token.write_text(self.made.token)
        token.chmod(0o600)
        self.run("account", "add", "bench", "--token-file", str(token),
                 "--api-base", self.api_base)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([*self.base, *args], env=self.env, capture_output=True,
                              text=True, check=False)
        if done.returncode not in (0, 1):
            raise SystemExit(f"bench: origincert {args[0]} failed: {done.stderr}")
        return done

    def run_json(self, *args: str) -> tuple[dict, float]:  # type: ignore[type-arg]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        done = self.run(*args)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        if peak <= before:
            print("bench: peak memory not measurable (an earlier child was bigger)")
        return json.loads(done.stdout), round(peak / 1024, 1)


class _Nginx:
    def __init__(self, made: Generated) -> None:
        self.argv = ["nginx", "-c", str(made.conf), "-p", str(made.root)]

    def __enter__(self) -> _Nginx:
        subprocess.run(self.argv, check=True)
        return self

    def __exit__(self, *exc: object) -> None:
        subprocess.run([*self.argv, "-s", "quit"], check=False)
        time.sleep(0.5)


def _start_times(runs: int = 15) -> dict[str, float]:
    found = {}
    for args in (["--version"], ["--help"]):
        spent = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "origincert", *args], capture_output=True,
                           check=True)
            spent.append(time.perf_counter() - started)
        found[" ".join(args)] = round(statistics.median(spent) * 1000, 1)
    return found


def _table(found: dict) -> None:  # type: ignore[type-arg]
    print("\norigincert batch benchmark\n")
    print(f"{'regime':<9}{'sites':>6}{'zones':>6}{'wall s':>9}{'bound s':>9}"
          f"{'calls/site':>11}{'tests':>6}{'reloads':>8}{'peak MB':>8}{'failed':>7}")
    for name in ("budget", "latency"):
        if name not in found:
            continue
        f = found[name]
        bound = f"{f['lower_bound_s']:.0f}" if f["lower_bound_s"] else "-"
        print(f"{name:<9}{f['sites']:>6}{f['zones']:>6}{f['wall_s']:>9}{bound:>9}"
              f"{f['calls_per_site']:>11}{f['config_tests']:>6}{f['reloads']:>8}"
              f"{f['peak_mb']:>8}{f['failed']:>7}")
        for line in f["timeline"]:
            print(f"  {line}")
        if f["naive"]:
            n = f["naive"]
            speedup = n["wall_s"] / f["wall_s"] if f["wall_s"] else 0
            print(f"{'  naive':<9}{f['sites']:>6}{f['zones']:>6}{n['wall_s']:>9}{'-':>9}"
                  f"{n['api_calls_per_site']:>11}{n['config_tests']:>6}{n['reloads']:>8}"
                  f"{'':>8}{'':>7}   batch is {speedup:.0f}x faster")
    start = found["start"]
    print(f"\nstart time (median of 15, python -m origincert): --version "
          f"{start['--version']} ms, --help {start['--help']} ms")


if __name__ == "__main__":
    sys.exit(main())
