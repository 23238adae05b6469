"""`origincert sandbox`: serve the local Cloudflare API twin until interrupted.

Registered by the CLI with `app.command("sandbox")(sandbox)`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer



def sandbox(
    data: Annotated[Path, typer.Option(
        "--data", help="Sandbox data file (accounts, users, tokens, zones) in JSON.",
        exists=True, dir_okay=False, readable=True)],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on; 0 picks a free one.")] = 8787,
    state_dir: Annotated[Optional[Path], typer.Option(
        "--state-dir", help="Folder for the sandbox root CA keys (kept across restarts). "
        "Default: a temporary folder, so roots change on every start.",
        file_okay=False)] = None,
    latency_ms: Annotated[int, typer.Option(
        "--latency-ms", min=0, help="Delay added to every API call, in milliseconds.")] = 0,
    rate_limit: Annotated[Optional[str], typer.Option(
        "--rate-limit", help="Per-credential budget as REQUESTS/SECONDS.")] = None,
    edge: Annotated[bool, typer.Option(
        "--edge", help="Also serve the sandbox edge: an HTTP and an HTTPS front that "
        "proxy the data file's proxied hostnames to their origins like Cloudflare.")] = False,
    edge_http_port: Annotated[int, typer.Option(
        "--edge-http-port", min=0, help="Port of the edge's HTTP front; 0 picks one.")] = 0,
    edge_https_port: Annotated[int, typer.Option(
        "--edge-https-port", min=0, help="Port of the edge's HTTPS front; 0 picks one.")] = 0,
    origin_map: Annotated[Optional[list[str]], typer.Option(
        "--origin-map", help="ADDRESS=LOCAL: connect to LOCAL where a record names "
        "ADDRESS (repeatable), e.g. 203.0.113.10=127.0.0.1.")] = None,
    dns: Annotated[bool, typer.Option(
        "--dns", help="Also serve the zones over DNS (UDP and TCP), e.g. for an ACME "
        "server to check DNS-01 TXT records.")] = False,
    dns_port: Annotated[int, typer.Option(
        "--dns-port", min=0, help="Port of the DNS server; 0 picks one.")] = 0,
) -> None:
    """Serve a local twin of the Cloudflare v4 API for trying origincert safely."""
    from origincert.sandbox import (Sandbox, SandboxDataError, SandboxSettings,
                                    parse_origin_map, parse_rate_limit)

    try:
        limits = parse_rate_limit(rate_limit) if rate_limit else (1200, 300.0)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--rate-limit") from err
    try:
        mapped = parse_origin_map(origin_map or [])
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--origin-map") from err

    settings = SandboxSettings(latency_ms=latency_ms, rate_limit=limits, edge=edge,
                               edge_host=host, edge_http_port=edge_http_port,
                               edge_https_port=edge_https_port, origin_map=mapped,
                               dns=dns, dns_host=host, dns_port=dns_port)
    try:
        server = Sandbox.prepare(data, state_dir=state_dir, host=host, port=port,
                                 settings=settings)
    except SandboxDataError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(code=2) from err
    except OSError as err:
        ports = f"{port}" + (f", {edge_http_port} or {edge_https_port}" if edge else "")
        typer.echo(f"error: cannot listen on {host} port {ports}: {err.strerror}", err=True)
        raise typer.Exit(code=2) from err

    typer.echo(f"Sandbox Cloudflare API at {server.base_url}")
    typer.echo(f"Point the SDK at it: export CLOUDFLARE_BASE_URL={server.base_url}")
    typer.echo(f"Root CA certificates: {server.state_dir}/rsa-root.pem, ecc-root.pem")
    if server.edge is not None:
        typer.echo(f"Sandbox edge at {server.edge.http_url} and {server.edge.https_url} "
                   "(send the hostname as Host and TLS SNI)")
        typer.echo(f"Edge CA for visitors: {server.state_dir}/edge-root.pem; origin pull CA "
                   f"for origins: {server.state_dir}/origin-pull-root.pem (both also at "
                   f"{server.base_url}/origincert-sandbox/edge)")
    if server.dns is not None:
        dns_host, dns_bound = server.dns.address
        typer.echo(f"Sandbox DNS at {dns_host} port {dns_bound} (UDP and TCP), e.g. "
                   f"pebble -dnsserver {dns_host}:{dns_bound}")
    typer.echo("Tokens and keys are the ones in the data file. Press Ctrl-C to stop.")
    server.serve_forever()

