"""A throwaway nginx serving one sample site over plain HTTP, for the demo."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from origincert import files, runner
from origincert.errors import OriginCertError

CONF = """\
# A sample site, as a hosting panel would write it: HTTP only for now.
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 64; }}

http {{
    access_log off;

    server {{
        listen 80;
        server_name example.com www.example.com;
        location / {{
            default_type text/html;
            return 200 "<h1>Demo site</h1>\n";
        }}
    }}
}}
"""


class DemoNginx:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.conf = root / "nginx.conf"
        self.binary = shutil.which("nginx") or "/usr/sbin/nginx"

    def start(self) -> None:
        if not Path(self.binary).exists():
            raise OriginCertError("nginx is not installed",
                                  hint="apt-get install nginx (scripts/dev.sh demo does it)")
        files.ensure_dir(self.root)
        files.write_atomic(self.conf, CONF.format(root=self.root))
        done = runner.run([self.binary, "-c", str(self.conf), "-p", str(self.root)])
        if not done.ok:
            raise OriginCertError(f"the demo nginx did not start: {done.output}")
        time.sleep(0.2)

    def stop(self) -> None:
        runner.run([self.binary, "-c", str(self.conf), "-p", str(self.root), "-s", "quit"])

    @property
    def cli_options(self) -> list[str]:
        return ["--nginx-binary", self.binary, "--nginx-conf", str(self.conf),
                "--nginx-prefix", str(self.root)]
