"""The Apache edits on configurations the fixture does not cover, on a real Apache.

Redirects of every kind must not loop on HTTPS; an HTTPS vhost that lacks a
name of its site gets it; files with CRLF line ends and without a final
newline come back byte for byte.
"""

from __future__ import annotations

import pytest

from origincert.webserver.apache.config import BEGIN, OFF
from origincert.webserver.base import Endpoint
from tests.servers.apache_tree import ApacheTree, http_get
from tests.servers.nginx_tree import apply_plan
from tests.servers.pki import make_leaf
from tests.servers.tls import wait_for_certificate

pytestmark = pytest.mark.servers

PLAIN = Endpoint("127.0.0.1", 80)
TLS = Endpoint("127.0.0.1", 443)

REDIRECTS = {
    "sites-available/shop.conf": """\
<VirtualHost *:80>
    ServerName shop.example.org
    DocumentRoot /var/www/shop
    # every request to https, without asking which scheme it came on
    Redirect permanent / https://shop.example.org/
</VirtualHost>
""",
    "sites-enabled/shop.conf": "../sites-available/shop.conf",
    "sites-available/blog.conf": """\
<VirtualHost *:80>
    ServerName blog.example.org
    DocumentRoot /var/www/blog
</VirtualHost>
""",
    "sites-enabled/blog.conf": "../sites-available/blog.conf",
}

CRLF = {
    "sites-available/docs.conf": (
        "<VirtualHost *:80>\r\n"
        "\tServerName docs.example.org\r\n"
        "\tServerAlias www.docs.example.org\r\n"
        "\tDocumentRoot /var/www/docs\r\n"
        "</VirtualHost>\r\n"
        "<VirtualHost *:443>\r\n"
        "\tServerName docs.example.org\r\n"
        "\tDocumentRoot /var/www/docs\r\n"
        "\tSSLEngine on\r\n"
        "\tSSLCertificateFile /etc/ssl/docs/cert.pem\r\n"
        "\tSSLCertificateKeyFile /etc/ssl/docs/key.pem\r\n"
        "</VirtualHost>"
    ),
    "sites-enabled/docs.conf": "../sites-available/docs.conf",
}


def test_redirects_keep_working_on_http_and_never_fire_on_https(apache_tree, tmp_path):
    tree: ApacheTree = apache_tree(REDIRECTS)
    originals = tree.fixture_files()
    tree.start()
    sites = {site.name: site for site in tree.apache.sites()}

    shop = make_leaf(["shop.example.org"], tmp_path / "shop")
    plan = tree.apache.plan_install(sites["shop.example.org"], shop.files, lineage="shop")
    assert any("left out of its HTTPS copy" in note for note in plan.notes)
    twin = next(c for c in plan.changes if c.path.parent.name == "vhosts")
    assert b"# origincert: left out on HTTPS" in twin.after
    apply_plan(plan)

    blog = make_leaf(["blog.example.org"], tmp_path / "blog")
    plan = tree.apache.plan_install(sites["blog.example.org"], blog.files, lineage="blog",
                                    redirect=True)
    assert any("plain HTTP now redirects to HTTPS" in note for note in plan.notes)
    apply_plan(plan)
    tree.reload()

    for name, leaf in (("shop.example.org", shop), ("blog.example.org", blog)):
        wait_for_certificate(TLS, name, leaf.der)
        assert http_get(TLS, name, tls=True) == (200, None)
        assert http_get(PLAIN, name, tls=False) == (301, f"https://{name}/")

    leaves = {"shop": shop, "blog": blog}
    for site in tree.apache.sites():
        lineage = site.name.split(".")[0]
        again = tree.apache.plan_install(site, leaves[lineage].files, lineage=lineage,
                                         redirect=True)
        assert again.changes == []
        apply_plan(tree.apache.plan_uninstall(site, lineage=lineage))
    tree.reload()
    assert tree.current_files() == originals
    assert http_get(PLAIN, "blog.example.org", tls=False) == (200, None)


def test_https_vhost_without_www_gets_the_alias_and_crlf_file_comes_back_whole(
    apache_tree, tmp_path
):
    tree: ApacheTree = apache_tree(CRLF)
    originals = tree.fixture_files()
    tree.start()
    (site,) = tree.apache.sites()
    assert site.hostnames == ("docs.example.org", "www.docs.example.org")
    old = tree.placeholders[site.certificate]

    leaf = make_leaf(list(site.hostnames), tmp_path / "docs")
    plan = tree.apache.plan_install(site, leaf.files, lineage="docs", replace=True)
    (edited,) = [c for c in plan.changes if c.path.name == "docs.conf"
                 and c.path.parent.name == "sites-available"]
    text = edited.after.decode()
    assert f"\t{BEGIN}\r\n\tServerAlias www.docs.example.org\r\n" in text
    assert f"\t{OFF}SSLCertificateFile" in text
    assert text.endswith("</VirtualHost>")  # still no final newline
    apply_plan(plan)
    tree.reload()
    for name in site.hostnames:
        wait_for_certificate(TLS, name, leaf.der)

    apply_plan(tree.apache.plan_uninstall(site, lineage="docs"))
    tree.reload()
    assert tree.current_files() == originals
    wait_for_certificate(TLS, "docs.example.org", old)
