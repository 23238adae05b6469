"""Generate N sites across Z zones: an nginx configuration and the sandbox's world.

One file per site, as hosting panels write them; every site HTTP-only at the
start, answering 200 by itself (no backend needed); one account and one token
that reaches every zone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

ACCOUNT_ID = "b0000000000000000000000000000001"
TOKEN = "sandbox-bench-token-full-access-0000000001"

SITE = """\
server {{
    listen 80;
    server_name {name};
    location / {{ return 200 "{name}\\n"; }}
}}
"""

MAIN = """\
pid {root}/nginx.pid;
error_log {root}/error.log;
worker_processes auto;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    server_names_hash_bucket_size 128;
    server_names_hash_max_size 65536;
    include {root}/sites/*.conf;
}}
"""


@dataclass(frozen=True)
class Generated:
    root: Path
    conf: Path
    world: Path
    hostnames: list[str]
    token: str = TOKEN


def generate(root: Path, sites: int, zones: int) -> Generated:
    """Write the nginx tree and the world under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "sites").mkdir(exist_ok=True)
    zone_names = [f"bench{z:03d}.example" for z in range(zones)]
    hostnames = [f"site{s:05d}.{zone_names[s % zones]}" for s in range(sites)]

    for index, name in enumerate(hostnames):
        (root / "sites" / f"{index:05d}-{name}.conf").write_text(SITE.format(name=name))
    conf = root / "nginx.conf"
    conf.write_text(MAIN.format(root=root))
    world = root / "world.json"
    world.write_text(json.dumps(_world(zone_names, hostnames), indent=1))
    return Generated(root, conf, world, hostnames)


def _world(zone_names: list[str], hostnames: list[str]) -> dict[str, object]:
    zones = []
    for number, zone in enumerate(zone_names):
        records = [{"type": "A", "name": h, "content": "203.0.113.10", "proxied": True,
                    "ttl": 1} for h in hostnames if h.endswith("." + zone)]
        zones.append({
            "id": f"b0{number:030d}", "name": zone, "account": ACCOUNT_ID, "status": "active",
            "plan": "free", "dns_records": records,
            "settings": {"ssl": "full", "always_use_https": "off",
                         "automatic_https_rewrites": "off", "min_tls_version": "1.2",
                         "tls_1_3": "on", "tls_client_auth": "off"},
        })
    return {
        "accounts": [{"id": ACCOUNT_ID, "name": "Bench"}],
        "users": [],
        "tokens": [{"name": "bench", "value": TOKEN, "status": "active", "policies": [{
            "permissions": ["zone:read", "zone_settings:edit", "dns_records:edit", "ssl:edit"],
            "zones": [f"account:{ACCOUNT_ID}"]}]}],
        "zones": zones,
    }
