"""The text edits: minimal, reversible to the byte, and accepted by a real nginx."""

from __future__ import annotations

import pytest

from origincert.errors import WebServerError
from origincert.webserver.base import CertFiles, Endpoint
from origincert.webserver.nginx import CertificateInUseError, Nginx
from origincert.webserver.nginx.edit import BEGIN, OFF, REDIRECT
from origincert.webserver.nginx.text import find_block, parse_text
from tests.servers.nginx_tree import NginxTree, apply_plan
from tests.servers.pki import make_leaf
from tests.servers.tls import wait_for_certificate

MAIN = "events {}\nhttp {\n    include conf.d/*.conf;\n    include snippets/none*.conf;\n}\n"


def _site(tree: NginxTree, name: str):
    return {site.name: site for site in tree.nginx.sites()}[name]


def _install(tree: NginxTree, name: str, tmp_path, **options):
    site = _site(tree, name)
    leaf = make_leaf(list(site.hostnames), tmp_path / name)
    plan = tree.nginx.plan_install(site, leaf.files, lineage=name, **options)
    apply_plan(plan)
    return site, leaf, plan


def _uninstall(tree: NginxTree, name: str) -> None:
    apply_plan(tree.nginx.plan_uninstall(_site(tree, name), lineage=name))


def test_bytes_outside_the_edited_block_and_every_comment_stay(nginx_tree, tmp_path):
    tree = nginx_tree("reverse-proxy")
    path = tree.path("conf.d/sites.conf")
    before = path.read_text()
    block = find_block(parse_text(before), "server", 19)

    _install(tree, "store.example.org", tmp_path)
    after = path.read_text()

    assert after.startswith(before[:block.start])
    assert after.endswith(before[block.end:])
    comments = [line for line in before.splitlines() if line.lstrip().startswith("#")]
    assert [line for line in after.splitlines() if line in comments] == comments
    tree.nginx.config_test()


def test_group_keeps_the_tab_indentation_of_the_block(nginx_tree, tmp_path):
    tree = nginx_tree("debian-wordpress")
    _install(tree, "shop.example.com", tmp_path)

    lines = tree.path("sites-available/shop.example.com").read_text().splitlines()
    begin = lines.index(f"\t{BEGIN}")
    assert lines[begin - 1] == "\tserver_name shop.example.com www.shop.example.com;"
    assert lines[begin + 1:begin + 3] == ["\tlisten 443 ssl;", "\tlisten [::]:443 ssl;"]
    assert all("http2" not in line and "default_server" not in line for line in lines[begin:])


def test_redirect_goes_only_into_blocks_that_also_listen_on_plain_http(nginx_tree, tmp_path):
    tree = nginx_tree("reverse-proxy")
    _, _, store = _install(tree, "store.example.org", tmp_path, redirect=True)
    _, _, docs = _install(tree, "docs.example.org", tmp_path, redirect=True, replace=True)

    text = tree.path("conf.d/sites.conf").read_text()
    assert text.count(REDIRECT) == 1
    assert any("redirects" in note for note in store.notes)
    assert any("no redirect" in note for note in docs.notes)
    tree.nginx.config_test()


def test_config_test_failure_carries_nginx_own_words(nginx_tree, tmp_path):
    tree = nginx_tree("debian-wordpress")
    missing = CertFiles(tmp_path / "absent" / "cert.pem", tmp_path / "absent" / "key.pem")
    site = _site(tree, "blog.example.org")
    apply_plan(tree.nginx.plan_install(site, missing, lineage="blog.example.org"))

    with pytest.raises(WebServerError) as caught:
        tree.nginx.config_test()
    assert str(missing.certificate) in caught.value.output
    assert "[emerg]" in caught.value.one_line()


def test_failing_reload_command_raises_with_its_output(nginx_tree):
    tree = nginx_tree("tricky")
    nginx = Nginx(conf=tree.conf, prefix=tree.prefix,
                  reload_command=["sh", "-c", "echo reload refused >&2; exit 3"])
    with pytest.raises(WebServerError) as caught:
        nginx.reload()
    assert "reload refused" in caught.value.output


def test_one_name_in_two_blocks_on_one_port_is_refused_naming_both(nginx_tree, tmp_path):
    tree = nginx_tree({
        "nginx.conf": MAIN,
        "conf.d/a.conf": "server {\n    listen 80;\n    server_name dup.example.com;\n}\n",
        "conf.d/b.conf": (
            "# second\nserver {\n    listen 80;\n    server_name dup.example.com;\n}\n"
        ),
    })
    site = _site(tree, "dup.example.com")
    leaf = make_leaf(["dup.example.com"], tmp_path)

    with pytest.raises(WebServerError) as caught:
        tree.nginx.plan_install(site, leaf.files, lineage="dup")
    assert "a.conf:1" in caught.value.message and "b.conf:2" in caught.value.message


def test_another_lineage_only_retargets_the_include(nginx_tree, tmp_path):
    tree = nginx_tree("tricky")
    _install(tree, "api.example.com", tmp_path)
    text = tree.path("conf.d/edge-cases.conf").read_text()

    second = make_leaf(["api.example.com"], tmp_path / "second")
    plan = tree.nginx.plan_install(_site(tree, "api.example.com"), second.files, lineage="api2")
    apply_plan(plan)

    after = tree.path("conf.d/edge-cases.conf").read_text()
    assert after == text.replace("api.example.com.conf;", "api2.conf;")
    tree.nginx.config_test()


@pytest.mark.servers
def test_listen_443_without_ssl_c23_is_fixed_served_and_restored(nginx_tree, tmp_path):
    tree = nginx_tree({
        "nginx.conf": MAIN,
        "conf.d/c23.conf": (
            "server {\n"
            "    listen 443 default_server;  # field case C23\n"
            "    server_name c23.example.com;\n"
            "    ssl_certificate /etc/ssl/c23/origin.pem;\n"
            "    ssl_certificate_key /etc/ssl/c23/origin.key;\n"
            "}\n"
        ),
    })
    original = tree.fixture_files()
    tree.start()

    with pytest.raises(CertificateInUseError):
        _install(tree, "c23.example.com", tmp_path)
    _, leaf, _ = _install(tree, "c23.example.com", tmp_path, replace=True)
    text = tree.path("conf.d/c23.conf").read_text()
    assert f"{OFF}listen 443 default_server;  # field case C23" in text
    assert "    listen 443 ssl default_server;\n" in text
    tree.reload()
    wait_for_certificate(Endpoint("127.0.0.1", 443), "c23.example.com", leaf.der)

    _uninstall(tree, "c23.example.com")
    tree.nginx.config_test()
    assert tree.current_files() == original


@pytest.mark.servers
def test_one_line_block_is_split_for_the_group_and_rejoined_on_uninstall(nginx_tree, tmp_path):
    tree = nginx_tree({
        "nginx.conf": MAIN,
        "conf.d/one.conf": "server { listen [::]:80; server_name one.example.com; return 204; }\n",
    })
    original = tree.fixture_files()
    tree.start()

    site, leaf, _ = _install(tree, "one.example.com", tmp_path)
    assert "listen [::]:443 ssl;" in tree.path("conf.d/one.conf").read_text()
    tree.reload()
    (endpoint,) = tree.nginx.endpoints(site)
    assert endpoint == Endpoint("::1", 443)
    wait_for_certificate(endpoint, "one.example.com", leaf.der)

    _uninstall(tree, "one.example.com")
    assert tree.current_files() == original


@pytest.mark.servers
def test_certificate_from_an_included_snippet_is_switched_and_restored(nginx_tree, tmp_path):
    tree = nginx_tree({
        "nginx.conf": MAIN,
        "snippets/pasted-cert.conf": (
            "ssl_certificate /etc/ssl/pasted/cert.pem;\n"
            "ssl_certificate_key /etc/ssl/pasted/key.pem;\n"
        ),
        "conf.d/s.conf": (
            "server {\n"
            "\tlisten 443 ssl;\n"
            "\tserver_name snip.example.com;\n"
            "\tinclude snippets/pasted-cert.conf;\n"
            "}\n"
        ),
    })
    original = tree.fixture_files()
    site = _site(tree, "snip.example.com")
    assert site.certificate == tree.root / "etc/ssl/pasted/cert.pem"
    tree.start()

    _, leaf, _ = _install(tree, "snip.example.com", tmp_path, replace=True)
    assert f"\t{OFF}include snippets/pasted-cert.conf;" in tree.path("conf.d/s.conf").read_text()
    tree.reload()
    wait_for_certificate(Endpoint("127.0.0.1", 443), "snip.example.com", leaf.der)

    _uninstall(tree, "snip.example.com")
    tree.reload()
    assert tree.current_files() == original
    wait_for_certificate(Endpoint("127.0.0.1", 443), "snip.example.com",
                         tree.placeholders[site.certificate])
