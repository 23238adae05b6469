"""The demo: the guide's click path, "Generate & Install", on the sandbox.

Everything happens in a private network namespace and a temporary folder:
the sandbox API, an nginx serving a sample site over HTTP, the state. The
commands are the real CLI, run as a user would type them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path

from cryptography import x509

from origincert import files
from origincert.demo.netns import enter_private_network
from origincert.demo.nginx import DemoNginx
from origincert.errors import OriginCertError
from origincert.probe.tls import handshake

DEMO_TOKEN = "sandbox-demo-token-dns-and-ssl-edit-0001"
HOSTNAMES = ["example.com", "www.example.com"]


def run_demo() -> int:
    """Run the demo; 0 when the handshake proved the installed certificate."""
    if os.geteuid() != 0:
        print("origincert: error: the demo needs root (it runs nginx privately on port 443)",
              file=sys.stderr)
        return 1
    try:
        enter_private_network()
        with tempfile.TemporaryDirectory(prefix="origincert-demo-") as tmp:
            return _demo(Path(tmp))
    except OriginCertError as err:
        print(f"origincert: error: {err.one_line()}", file=sys.stderr)
        return 1


def _demo(tmp: Path) -> int:
    from origincert.sandbox import Sandbox

    _say("1/5", "Starting the Cloudflare sandbox (a local twin of the API)")
    from origincert.sandbox import SandboxSettings

    data = resources.files("origincert.demo") / "world.json"
    settings = SandboxSettings(edge=True)
    with resources.as_file(data) as world, \
            Sandbox.start(world, state_dir=tmp / "sandbox", settings=settings) as sandbox:
        print(f"      API at {sandbox.base_url}: account 'Demo Agency', zone example.com "
              "(SSL mode Flexible), example.com and www proxied")
        print(f"      and an edge at {sandbox.edge.https_url} that answers as Cloudflare's "
              "would for visitors")

        nginx = DemoNginx(tmp / "nginx")
        _say("2/5", "Starting nginx with a sample site, HTTP only")
        nginx.start()
        try:
            return _steps(tmp, sandbox, nginx)
        finally:
            nginx.stop()


def _steps(tmp: Path, sandbox, nginx: DemoNginx) -> int:  # type: ignore[no-untyped-def]
    base_url = sandbox.base_url
    before = handshake("127.0.0.1", 443, HOSTNAMES[0], timeout=2)
    print(f"      HTTPS on example.com at the origin before: {before.error or 'a certificate'}")
    _through_edge(sandbox, "before")

    _say("3/5", "Connecting the Cloudflare account with a scoped API token")
    token_file = tmp / "token"
    files.write_atomic(token_file, DEMO_TOKEN + "\n", mode=0o600)
    cli = _cli(tmp, nginx)
    cli("account", "add", "agency", "--token-file", str(token_file), "--api-base", base_url)

    _say("4/5", "Generate & Install: origincert issue " + " ".join(HOSTNAMES))
    if cli("issue", *HOSTNAMES, check=False) != 0:
        print("      the install failed and was rolled back; see the line above")
        return 1

    _say("5/5", "The proof: what nginx serves, and what a visitor gets through the edge")
    for name in HOSTNAMES:
        _show_served(name)
    _through_edge(sandbox, "after")
    cli("certs")
    print("\ndone: the demo cleans up its sandbox, nginx and state now.")
    return 0


def _cli(tmp: Path, nginx: DemoNginx):  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDFLARE_")}
    base = [sys.executable, "-m", "origincert", "--state-dir", str(tmp / "state"),
            *nginx.cli_options]

    def cli(*args: str, check: bool = True) -> int:
        shown = " ".join(a for a in args)
        print(f"      $ origincert {shown}")
        done = subprocess.run([*base, *args], env=env, check=False)
        if check and done.returncode != 0:
            raise OriginCertError(f"`origincert {args[0]}` failed in the demo")
        return done.returncode

    return cli


def _show_served(name: str) -> None:
    served = handshake("127.0.0.1", 443, name)
    if served.certificate_der is None:
        raise OriginCertError(f"{name}: {served.error}")
    cert = x509.load_der_x509_certificate(served.certificate_der)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    names = ", ".join(sans.value.get_values_for_type(x509.DNSName))
    print(f"      {name}: issued by {cert.issuer.rfc4514_string()}")
    print(f"        names {names}; valid until {cert.not_valid_after_utc:%Y-%m-%d}")


def _through_edge(sandbox, when: str) -> None:  # type: ignore[no-untyped-def]
    with sandbox.edge.client() as visitor:
        answer = visitor.get(f"https://{HOSTNAMES[0]}/")
    mode = sandbox.world.zones[0].settings["ssl"].value
    print(f"      through the edge {when}: https://{HOSTNAMES[0]}/ → HTTP "
          f"{answer.status_code} (zone SSL mode {mode})")


def _say(step: str, text: str) -> None:
    print(f"\n[{step}] {text}")
