"""Pebble, the ACME test server from Debian's packages, run by the tests on loopback.

``Pebble.start`` makes a private CA and a certificate for 127.0.0.1 (Pebble's ACME
endpoint speaks HTTPS only), writes a config that listens on free loopback ports
only, and starts ``/usr/bin/pebble`` pointed at the sandbox's DNS server with
``-dnsserver``. Validation runs at full speed (``PEBBLE_VA_NOSLEEP=1``), no nonce is
rejected on purpose (``PEBBLE_WFE_NONCEREJECT=0``), and no authorization is reused
(``PEBBLE_AUTHZREUSE=0``), so every order really goes through DNS-01.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

BINARY = os.environ.get("ORIGINCERT_PEBBLE", "/usr/bin/pebble")
HOST = "127.0.0.1"
_START_TIMEOUT_S = 15.0


def available() -> bool:
    return shutil.which(BINARY) is not None


@dataclass
class Pebble:
    process: subprocess.Popen
    folder: Path
    acme_port: int
    management_port: int

    @property
    def directory(self) -> str:
        return f"https://{HOST}:{self.acme_port}/dir"

    @property
    def ca_bundle(self) -> str:
        """The CA file that verifies Pebble's own HTTPS (not its issuing root)."""
        return str(self.folder / "tls-ca.pem")

    @classmethod
    def start(cls, folder: Path, dns_server: tuple[str, int]) -> Pebble:
        folder.mkdir(parents=True, exist_ok=True)
        _make_tls(folder)
        acme_port, management_port = _free_port(), _free_port()
        config = {"pebble": {
            "listenAddress": f"{HOST}:{acme_port}",
            "managementListenAddress": f"{HOST}:{management_port}",
            "certificate": str(folder / "tls-cert.pem"),
            "privateKey": str(folder / "tls-key.pem"),
            "httpPort": 5002, "tlsPort": 5001, "ocspResponderURL": "",
            "externalAccountBindingRequired": False,
        }}
        (folder / "pebble-config.json").write_text(json.dumps(config, indent=2))
        env = {**os.environ, "PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0",
               "PEBBLE_AUTHZREUSE": "0"}
        host, port = dns_server
        log = open(folder / "pebble.log", "wb")  # noqa: SIM115 - kept open for the process
        process = subprocess.Popen(
            [BINARY, "-config", str(folder / "pebble-config.json"),
             "-dnsserver", f"{host}:{port}"],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=folder,
        )
        pebble = cls(process, folder, acme_port, management_port)
        pebble._wait_ready()
        return pebble

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def root_pem(self) -> str:
        """The root that signs what Pebble issues, from its management interface."""
        return self._get(f"https://{HOST}:{self.management_port}/roots/0")

    def log(self) -> str:
        return (self.folder / "pebble.log").read_text(errors="replace")

    def _get(self, url: str) -> str:
        context = ssl.create_default_context(cafile=self.ca_bundle)
        with urllib.request.urlopen(url, context=context, timeout=5) as response:
            return response.read().decode()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"pebble exited:\n{self.log()}")
            try:
                self._get(self.directory)
                self._get(f"https://{HOST}:{self.management_port}/roots/0")
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"pebble did not answer within {_START_TIMEOUT_S} s:\n{self.log()}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _make_tls(folder: Path) -> None:
    """A CA and a certificate for 127.0.0.1 and localhost, for Pebble's HTTPS."""
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "origincert test Pebble TLS")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(hours=1))
          .not_valid_after(now + dt.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                       False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    (folder / "tls-ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "tls-cert.pem").write_bytes(leaf.public_bytes(pem))
    (folder / "tls-key.pem").write_bytes(key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
