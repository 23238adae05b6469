"""Redirect loops and mixed content, from the visitor's side (field cases C01, C03, C05).

Three zones, one nginx: a Flexible zone whose origin redirects to HTTPS while it already
has a valid Origin CA certificate (C01: `--fix` moves the zone to Full (strict)); a strict
zone whose TLS block passes WordPress to a backend over HTTP (C03: /wp-admin/ redirects
to itself); a Flexible zone with a WordPress page full of http:// links (C05). The
"WordPress" here is nginx answering exactly what WordPress answers, and WP-CLI a stand-in
script printing the stored option: PHP and a database are not part of the test machine.
"""

from __future__ import annotations

import pytest

from origincert.files import ensure_dir, write_atomic
from tests.doctor.conftest import (
    NGINX_MAIN, TOKEN, a_record, found, nginx_doctor, origin_ca, problems, tls_block, world,
)

pytestmark = pytest.mark.servers

FLEXIBLE = {"ssl": "flexible", "always_use_https": "off", "automatic_https_rewrites": "off",
            "min_tls_version": "1.0"}
PAGE = ('<html><head><script src="http://blog.example.net/wp-content/plugins/foo/foo.js">'
        '</script><link rel="icon" href="http://blog.example.net/icon.png"></head>'
        '<body><a href="http://example.org/">a link is fine</a>'
        '<img src="http://blog.example.net/logo.png"></body></html>')
WP_CONFIG = "<?php\ndefine('FORCE_SSL_ADMIN', true);\nrequire_once ABSPATH . 'wp-settings.php';\n"


@pytest.fixture(scope="module")
def origin(world_sandbox, nginx_origin, tmp_path_factory):  # type: ignore[no-untyped-def]
    sb = world_sandbox(world({
        "example.com": (FLEXIBLE, [a_record("loop.example.com", "203.0.113.10")]),
        "example.org": ({}, [a_record("wp.example.org", "203.0.113.11")]),
        "example.net": (FLEXIBLE, [a_record("blog.example.net", "203.0.113.12")]),
    }))
    folder = tmp_path_factory.mktemp("sites")
    loop = origin_ca(sb, ["loop.example.com"], folder)
    wp = origin_ca(sb, ["wp.example.org"], folder)
    wp_root, blog_root = ensure_dir(folder / "wp"), ensure_dir(folder / "blog")
    write_atomic(wp_root / "wp-config.php", WP_CONFIG)
    write_atomic(blog_root / "wp-config.php", "<?php\n")
    wp_cli = folder / "wp-cli"
    write_atomic(wp_cli, "#!/bin/sh\necho http://blog.example.net\n", mode=0o755)

    sites = "".join([
        # C01: every HTTP request redirected, a valid certificate on 443
        "server { listen 203.0.113.10:80; server_name loop.example.com; "
        "return 301 https://$host$request_uri; }\n",
        tls_block("203.0.113.10:443", "loop.example.com", loop),
        # C03: TLS ends at nginx, WordPress behind it over plain HTTP
        f"server {{ listen 203.0.113.11:443 ssl; server_name wp.example.org; root {wp_root};\n"
        f"  ssl_certificate {wp.cert}; ssl_certificate_key {wp.key};\n"
        "  location / { proxy_pass http://127.0.0.1:8080; proxy_set_header Host $host; } }\n",
        "server { listen 127.0.0.1:8080; server_name wp.example.org;\n"
        "  location /wp-admin/ { add_header X-Redirect-By WordPress always;\n"
        "                        return 302 https://$host$request_uri; }\n"
        "  location / { default_type text/html; return 200 '<html>wp</html>'; } }\n",
        # C05: the page a WordPress with an http:// siteurl emits, on Flexible
        # (the page is returned by nginx itself: its workers cannot enter pytest's 0700 tmp)
        f"server {{ listen 203.0.113.12:80; server_name blog.example.net; root {blog_root};\n"
        f"  location / {{ default_type text/html; return 200 '{PAGE}'; }} }}\n",
    ])
    tree, home = nginx_origin({"nginx.conf": NGINX_MAIN, "conf.d/sites.conf": sites})
    doctor = nginx_doctor(tree, home)
    doctor.connect(sb.base_url, TOKEN)
    return doctor, str(wp_cli)


def test_flexible_with_origin_redirect_is_a_loop_and_fix_moves_the_zone_to_strict(
        origin) -> None:
    doctor, _ = origin
    run, report = doctor.doctor("loop.example.com")

    assert run.code == 1
    assert problems(report) == {("edge.redirect_loop", "loop.example.com"),
                                ("zone.flexible", "example.com")}
    loop = found(report, "edge.redirect_loop", "loop.example.com")
    assert loop["severity"] == "error" and loop["case"] == "C01"
    assert loop["fix"]["automatic"] and "Full (strict)" in loop["fix"]["text"]

    run, fixed = doctor.doctor("loop.example.com", "--fix")

    assert run.code == 0, run
    assert fixed["healthy"] and not problems(fixed)
    changes = [c for f in fixed["fixes"] for c in f["changes"]]
    assert "ssl: flexible → strict" in changes


def test_wordpress_behind_a_local_proxy_loops_on_wp_admin(origin) -> None:
    doctor, _ = origin
    run, report = doctor.doctor("wp.example.org")

    assert problems(report) == {("edge.redirect_loop", "wp.example.org"),
                                ("wordpress.https_detection", "wp.example.org")}
    loop = found(report, "edge.redirect_loop", "wp.example.org")
    assert loop["case"] == "C03" and not loop["fix"]["automatic"]
    detection = found(report, "wordpress.https_detection", "wp.example.org")
    assert detection["severity"] == "error"  # FORCE_SSL_ADMIN: the admin loops
    assert found(report, "wordpress.siteurl", "wp.example.org")["severity"] == "info"


def test_mixed_content_on_flexible_lists_the_http_subresources(origin) -> None:
    doctor, wp_cli = origin
    run, report = doctor.doctor("blog.example.net", "--wp-cli", wp_cli)

    assert problems(report) == {
        ("content.mixed", "blog.example.net"), ("wordpress.siteurl", "blog.example.net"),
        ("wordpress.https_detection", "blog.example.net"),
        ("zone.https_rewrites_off", "example.net"), ("zone.flexible", "example.net"),
    }
    mixed = " ".join(found(report, "content.mixed", "blog.example.net")["evidence"])
    assert "script http://blog.example.net/wp-content/plugins/foo/foo.js" in mixed
    assert "img http://blog.example.net/logo.png" in mixed
    assert "example.org" not in mixed  # a link is not mixed content
    siteurl = found(report, "wordpress.siteurl", "blog.example.net")
    assert "http://blog.example.net" in " ".join(siteurl["evidence"])
