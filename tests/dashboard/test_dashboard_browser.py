"""Issue #9, "Tests": the guide's click path in a real headless Chromium.

First-run setup, log in, connect a sandbox account by pasting a token into a
password field, open a site of a running nginx fixture tree, and Generate &
Install: the progress lines appear while the job runs, then the SSL tab shows
the verified result, whose fingerprint must be the one a real TLS handshake
meets. Screenshots land in test-artifacts/dashboard/.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator

import pytest

from origincert.sandbox import Sandbox, SandboxSettings
from tests.dashboard.browser import ARTIFACTS, screenshot, start_chromium
from tests.dashboard.live import PASSWORD, SETUP_CODE, LiveDashboard, config_for, home_for
from tests.e2e.origin import AGENCY, agency_token, observe
from tests.servers.nginx_tree import NginxTree

pytestmark = pytest.mark.servers

SITE = "blog.example.org"
# Slow enough that the live progress can be watched, fast enough for the suite.
LATENCY_MS = 40


@pytest.fixture
def world(tmp_path) -> Iterator[tuple[LiveDashboard, NginxTree, Sandbox]]:
    sandbox = Sandbox.start(AGENCY, state_dir=tmp_path / "sandbox",
                            settings=SandboxSettings(latency_ms=LATENCY_MS))
    tree = NginxTree.build("debian-wordpress", tmp_path / "tree")
    tree.start()
    dashboard = LiveDashboard(config_for(home_for(tree, tmp_path / "home"), sandbox.base_url))
    try:
        yield dashboard, tree, sandbox
    finally:
        dashboard.stop()
        tree.stop()
        sandbox.stop()


@pytest.fixture
def browser(tmp_path):  # type: ignore[no-untyped-def]
    driver = start_chromium(tmp_path / "chromium-profile")
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


def fill(driver, field: str, value: str) -> None:  # type: ignore[no-untyped-def]
    element = driver.find_element("id", field)
    element.clear()
    element.send_keys(value)


def click(driver, element_id: str) -> None:  # type: ignore[no-untyped-def]
    driver.find_element("id", element_id).click()


def test_generate_and_install_from_the_browser_shows_the_verified_certificate(world, browser):
    dashboard, _tree, _sandbox = world
    token = agency_token("full access")

    # first-run setup, then log in
    browser.get(dashboard.url + "/")
    assert browser.current_url.endswith("/setup")
    for field, value in (("setup_code", SETUP_CODE), ("username", "admin"),
                         ("password", PASSWORD), ("confirm", PASSWORD)):
        fill(browser, field, value)
    click(browser, "create-admin")
    arrive(browser, "/login")
    fill(browser, "username", "admin")
    fill(browser, "password", PASSWORD)
    click(browser, "log-in")
    arrive(browser, "/sites")

    # connect the account: the token goes into a password field and never comes back
    browser.find_element("link text", "Accounts").click()
    assert browser.find_element("id", "token").get_attribute("type") == "password"
    fill(browser, "account-name", "agency")
    fill(browser, "token", token)
    click(browser, "connect")
    arrive(browser, "/accounts/agency", timeout=60)
    report = browser.find_element("id", "report").text
    assert "issuing certificates works for" in report
    assert token not in browser.page_source
    screenshot(browser, "01-account-connected")

    # the guide's path: site → SSL → Add New Certificate → Origin CA → account → Generate
    browser.find_element("link text", "Sites").click()
    browser.find_element("link text", SITE).click()
    click(browser, "ssl-tab")
    click(browser, "add-certificate")
    click(browser, "choose-origin-ca")
    assert browser.find_element("id", "account-agency").is_selected()
    screenshot(browser, "02-origin-ca-options")
    click(browser, "generate-install")

    watched = watch_job(browser)
    assert watched["lines_while_running"] > 0, watched  # progress shown live

    # the verified result, as the origin really serves it
    result = browser.find_element("id", "result").text
    assert "Installed and verified" in result
    served = observe("127.0.0.1", 443, SITE)
    assert isinstance(served, bytes), served
    fingerprint = browser.find_element("id", "result-fingerprint").text
    assert fingerprint == hashlib.sha256(served).hexdigest()
    cert_id = browser.find_element("id", "result-cert-id").text
    assert f"{SITE} serves certificate {cert_id}" in browser.find_element("id", "verified").text
    lines = browser.find_element("id", "job-lines").text
    assert "Cloudflare issued certificate" in lines
    shot = screenshot(browser, "03-ssl-tab-verified")
    assert shot.stat().st_size > 10_000

    # the inventory and the audit log know of it
    browser.find_element("link text", "Certificates").click()
    assert cert_id in browser.find_element("id", "certificates").text
    screenshot(browser, "04-certificates")
    browser.find_element("link text", "Audit log").click()
    assert "agency" in browser.find_element("id", "audit").text
    screenshot(browser, "05-audit-log")
    assert token not in browser.page_source
    assert (ARTIFACTS / "03-ssl-tab-verified.png").exists()


def arrive(browser, fragment: str, timeout: float = 15.0) -> None:  # type: ignore
    """Wait until the browser has followed a form or link to a URL containing ``fragment``."""
    deadline = time.monotonic() + timeout
    while fragment not in browser.current_url:
        if time.monotonic() > deadline:
            body = browser.find_element("tag name", "body").text
            raise AssertionError(f"still on {browser.current_url}, not {fragment}:\n{body}")
        time.sleep(0.05)


def watch_job(browser, timeout: float = 120.0) -> dict[str, object]:  # type: ignore
    """Follow the job panel until the result or the failure is shown."""
    deadline = time.monotonic() + timeout
    seen = {"lines_while_running": 0, "statuses": []}
    browser.implicitly_wait(0)
    try:
        while time.monotonic() < deadline:
            state = browser.execute_script(
                "const p = document.getElementById('job');"
                "return p ? [document.getElementById('job-status').textContent,"
                " document.querySelectorAll('#job-lines li').length,"
                " !!document.getElementById('result'),"
                " (document.getElementById('job-error') || {}).textContent || ''] : null;")
            if state:
                status, count, done, error = state
                assert not error, f"Generate & Install failed: {error}"
                if status in ("queued", "running"):
                    seen["lines_while_running"] = max(int(count), int(seen[  # type: ignore
                        "lines_while_running"]))
                seen["statuses"].append(status)  # type: ignore[attr-defined]
                if done:
                    return seen
            time.sleep(0.05)
    finally:
        browser.implicitly_wait(5)
    raise AssertionError(f"no result within {timeout:.0f}s: {seen}")
