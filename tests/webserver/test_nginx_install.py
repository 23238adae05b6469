"""Every site of every nginx fixture tree, installed and uninstalled on a real nginx.

One nginx per tree: each site in turn gets a fresh leaf, is checked by real
handshakes for each of its names, is planned again (nothing to do), and at
the end everything is uninstalled and every fixture file is byte-identical,
with the certificates the tree served before served again.
"""

from __future__ import annotations

import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from origincert.webserver.nginx import CertificateInUseError, sample_name, to_site_key
from tests.servers.nginx_tree import TREES, NginxTree, apply_plan
from tests.servers.pki import make_leaf
from tests.servers.tls import served_certificate, wait_for_certificate

pytestmark = pytest.mark.servers


@pytest.mark.parametrize("name", TREES)
def test_every_site_of_tree_serves_its_leaf_then_uninstall_restores_every_byte(
    nginx_tree, tmp_path, name
):
    tree: NginxTree = nginx_tree(name)
    originals = tree.fixture_files()
    tree.start()
    sites = tree.nginx.sites()
    before = {site.name: site for site in sites}

    for site in sites:
        _install_and_check(tree, site, tmp_path / to_site_key(site.name))

    # every site keeps its own leaf once all of them are installed
    for site in tree.nginx.sites():
        assert site.managed, site.name
        _check_served(tree, site, _leaf_der(tmp_path, site))

    for site in tree.nginx.sites():
        apply_plan(tree.nginx.plan_uninstall(site, lineage=to_site_key(site.name)))
    tree.reload()

    assert tree.current_files() == originals
    assert list(tree.nginx.include_dir.iterdir()) == []
    for site in tree.nginx.sites():
        assert not site.managed
        assert site.certificate == before[site.name].certificate
        if site.certificate is not None:
            _check_served(tree, site, tree.placeholders[site.certificate])


def test_reload_returns_once_no_old_worker_takes_connections(nginx_tree, tmp_path):
    """Right after reload, every new connection meets the new certificate.

    A reload is asynchronous: old workers keep accepting until they read the
    master's quit. Proof taken once, then a user's handshake, must agree.
    """
    tree: NginxTree = nginx_tree("reverse-proxy")
    tree.start()
    site = next(s for s in tree.nginx.sites() if s.certificate is not None)
    master = int(tree.pid_file.read_text())
    before = _accepting_workers(master)
    assert before, "nginx runs no worker process"
    leaf = make_leaf(list(site.hostnames), tmp_path / "leaf")
    apply_plan(tree.nginx.plan_install(site, leaf.files, lineage=to_site_key(site.name),
                                       replace=True))

    tree.reload()

    assert not before & _accepting_workers(master), "an old worker still takes connections"
    endpoint = tree.nginx.endpoints(site)[0]
    for _ in range(30):
        served = served_certificate(endpoint.host, endpoint.port, sample_name(site.hostnames[0]))
        assert served == leaf.der


def _accepting_workers(master: int) -> set[int]:
    """Worker pids of ``master`` as ps shows them, leaving out those shutting down."""
    shown = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(master)],
                           capture_output=True, text=True, check=True).stdout
    rows = [line.split(None, 1) for line in shown.splitlines() if line.strip()]
    return {int(pid) for pid, title in rows if title.strip() == "nginx: worker process"}


def _install_and_check(tree: NginxTree, site, folder) -> None:
    lineage = to_site_key(site.name)
    leaf = make_leaf(list(site.hostnames), folder)
    replace = site.certificate is not None
    if replace:
        with pytest.raises(CertificateInUseError) as refused:
            tree.nginx.plan_install(site, leaf.files, lineage=lineage)
        assert str(site.certificate) in refused.value.message
        assert "--replace" in refused.value.one_line()

    # with a redirect too, so that uninstall must take that out as well
    plan = tree.nginx.plan_install(
        site, leaf.files, lineage=lineage, replace=replace, redirect=True
    )
    assert not plan.empty
    apply_plan(plan)
    tree.reload()
    _check_served(tree, site, leaf.der)

    again = tree.nginx.plan_install(
        site, leaf.files, lineage=lineage, replace=replace, redirect=True
    )
    assert again.empty and again.changes == []


def _check_served(tree: NginxTree, site, der: bytes) -> None:
    endpoints = tree.nginx.endpoints(site)
    assert endpoints, f"{site.name} has no TLS endpoint"
    for hostname in site.hostnames:
        for endpoint in endpoints:
            wait_for_certificate(endpoint, sample_name(hostname), der)


def _leaf_der(tmp_path, site) -> bytes:
    pem = (tmp_path / to_site_key(site.name) / "cert.pem").read_bytes()
    return x509.load_pem_x509_certificates(pem)[0].public_bytes(Encoding.DER)
