"""Issue #9, "Tests": every route refuses an unauthenticated request; a change without
the CSRF token is refused; and the rest of the dashboard's safety (setup, sessions,
tokens, rate limit, secrets) holds, over real HTTP against a live dashboard."""

from __future__ import annotations

import os
import re
import sqlite3

import pytest

from origincert.dashboard.app import route_table
from origincert.dashboard.guard import FORM_COOKIE, SESSION_COOKIE, is_public
from origincert.dashboard.limits import LoginLimiter
from origincert.dashboard.users import DB_NAME
from tests.dashboard.live import PASSWORD, SETUP_CODE, Client, LiveDashboard

PUBLIC = {"/login", "/setup", "/api/v1/openapi.json", "/static"}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
SAMPLE = {"site": "blog.example.org", "name": "agency", "job_id": "0", "token_id": "1",
          "ref": "1"}


def requests_of(dashboard: LiveDashboard) -> list[tuple[str, str]]:
    """(method, concrete path) for every route of the app, HEAD left to GET."""
    found = []
    for path, methods in route_table(dashboard.app):
        concrete = re.sub(r"\{(\w+)\}", lambda m: SAMPLE[m.group(1)], path)
        found += [(method, concrete) for method in sorted(methods - {"HEAD"})]
    return found


def protected(dashboard: LiveDashboard) -> list[tuple[str, str]]:
    return [(m, p) for m, p in requests_of(dashboard) if not is_public(p) and p != "/static"]


def assert_refused(answer, path: str, login: str) -> None:  # type: ignore[no-untyped-def]
    if path.startswith("/api/"):
        assert answer.status_code == 401, (path, answer.status_code, answer.text)
        assert answer.json()["error"]["code"] == "unauthorized"
        assert set(answer.json()["error"]) == {"code", "message", "hint"}
    else:
        assert answer.status_code == 303, (path, answer.status_code, answer.text)
        assert answer.headers["location"].startswith(login), (path, answer.headers)


def test_the_only_open_routes_are_login_setup_static_and_the_openapi_document(dashboard):
    paths = {path for path, _ in route_table(dashboard.app)}
    assert {p for p in paths if is_public(p) or p == "/static"} == PUBLIC
    # the route table is complete: every API path of the OpenAPI document is in it
    with dashboard.client() as client:
        document = client.get("/api/v1/openapi.json").json()
    assert {"/api/v1" + p if not p.startswith("/api/v1") else p
            for p in document["paths"]} <= paths


def test_every_route_refuses_an_unauthenticated_request_before_and_after_setup(dashboard):
    routes = protected(dashboard)
    assert len(routes) > 30
    with dashboard.client() as client:
        for method, path in routes:
            assert_refused(client.request(method, path), path, "/setup")
        assert client.setup().status_code == 303
        for method, path in routes:
            assert_refused(client.request(method, path), path, "/login")


def test_a_forged_session_or_a_wrong_api_token_opens_nothing(admin, dashboard):
    with dashboard.client() as stranger:
        stranger.cookies.set(SESSION_COOKIE, "forged-session-value")
        for method, path in protected(dashboard):
            assert_refused(stranger.request(method, path), path, "/login")
        stranger.cookies.clear()
        for token in ("ocd_not-a-token", "garbage", "ocd_"):
            answer = stranger.get("/api/v1/sites", headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 401, token
        # an unknown route is refused too, not reported missing to a stranger
        assert stranger.get("/api/v1/no-such-route").status_code == 401
        assert stranger.get("/no-such-page").status_code == 303


def test_a_change_without_the_csrf_token_is_refused(admin, dashboard):
    changes = [(m, p) for m, p in protected(dashboard) if m in UNSAFE]
    assert len(changes) >= 12
    for method, path in changes:
        kwargs = {"data": {"name": "x"}} if method == "POST" else {}
        missing = admin.request(method, path, **kwargs)
        assert missing.status_code == 403, (method, path, missing.text)
        wrong = admin.request(method, path, headers={"X-CSRF-Token": "wrong"}, **kwargs)
        assert wrong.status_code == 403, (method, path, wrong.text)
    # the same change with the session's token goes through
    made = admin.post("/tokens", data={"name": "ci", "csrf_token": admin.csrf()})
    assert made.status_code == 201
    listed = admin.get("/api/v1/accounts", headers={"X-CSRF-Token": admin.csrf()})
    assert listed.status_code == 200


def test_the_login_form_needs_its_own_csrf_token(dashboard):
    with dashboard.client() as client:
        client.setup()
        client.form_token("/login")  # sets the form cookie
        answer = client.post("/login", data={"username": "admin", "password": PASSWORD})
        assert answer.status_code == 403
        client.cookies.delete(FORM_COOKIE)
        answer = client.post("/login", data={"username": "admin", "password": PASSWORD,
                                             "csrf_token": "made-up"})
        assert answer.status_code == 403


def test_api_tokens_need_no_csrf_and_open_only_the_api(admin, dashboard):
    token = admin.api_token()
    with dashboard.client() as program:
        bearer = {"Authorization": f"Bearer {token}"}
        assert program.get("/api/v1/whoami", headers=bearer).json() == {
            "kind": "token", "name": "tests"}
        answer = program.post("/api/v1/doctor", headers=bearer)
        assert answer.status_code in (202, 409)
        # a token is not a session: the pages stay closed to it
        assert program.get("/sites", headers=bearer).status_code == 303


def test_cookies_are_httponly_and_samesite_strict_and_secure_when_asked(live):
    plain = live()
    with plain.client() as client:
        client.setup()
        cookie = client.login().headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert "Secure" not in cookie

    secure = live()
    secure.app.state.dashboard.secure_cookies = True
    with secure.client() as client:
        # a Secure cookie does not travel back over plain HTTP: hand it back by hand
        for path, fields in (("/setup", {"setup_code": SETUP_CODE, "confirm": PASSWORD}),
                             ("/login", {})):
            page = client.get(path)
            assert "Secure" in page.headers["set-cookie"]
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
            answer = client.post(path, headers={"Cookie": f"{FORM_COOKIE}={token}"}, data={
                "csrf_token": token, "username": "admin", "password": PASSWORD, **fields})
            assert answer.status_code == 303
        cookie = answer.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" in cookie


def test_every_answer_carries_the_security_headers(admin):
    for path in ("/sites", "/api/v1/sites", "/login", "/static/style.css"):
        headers = admin.get(path).headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"


def test_setup_needs_the_printed_code_and_happens_once(dashboard):
    with dashboard.client() as client:
        token = client.form_token("/setup")
        wrong = client.post("/setup", data={"csrf_token": token, "setup_code": "guess",
                                            "username": "admin", "password": PASSWORD,
                                            "confirm": PASSWORD})
        assert wrong.status_code == 403
        short = client.post("/setup", data={"csrf_token": token, "setup_code": SETUP_CODE,
                                            "username": "admin", "password": "short",
                                            "confirm": "short"})
        assert short.status_code == 400 and "at least 12 characters" in short.text
        assert client.setup().headers["location"] == "/login?msg=setup"
        # a second admin cannot be made
        again = client.post("/setup", data={"csrf_token": token, "setup_code": SETUP_CODE,
                                            "username": "mallory", "password": PASSWORD,
                                            "confirm": PASSWORD})
        assert again.status_code == 303 and again.headers["location"] == "/login"
        assert client.get("/setup").headers["location"] == "/login"
        assert client.login(username="mallory").status_code == 401


def test_the_password_is_an_argon2id_hash_and_tokens_and_sessions_digests(admin, dashboard):
    token = admin.api_token()
    session = admin.cookies[SESSION_COOKIE]
    db = dashboard.config.settings.paths.state_dir / DB_NAME
    assert os.stat(db).st_mode & 0o777 == 0o600
    with sqlite3.connect(db) as conn:
        hashed = conn.execute("select password_hash from admins").fetchone()[0]
    assert hashed.startswith("$argon2id$")
    raw = b"".join(p.read_bytes() for p in db.parent.glob(DB_NAME + "*"))
    for secret in (PASSWORD, token, session):
        assert secret.encode() not in raw


def test_login_attempts_are_rate_limited(live):
    dashboard = live(limiter=LoginLimiter(max_failures=5, window=60))
    with dashboard.client() as client:
        client.setup()
        for _ in range(5):
            assert client.login(password="not the password!").status_code == 401
        locked = client.login()  # even the right password waits now
        assert locked.status_code == 429
        assert int(locked.headers["retry-after"]) > 0
        assert SESSION_COOKIE not in client.cookies


def test_the_limiter_counts_per_address_and_per_user_with_backoff():
    now = [0.0]
    limiter = LoginLimiter(clock=lambda: now[0], max_failures=5, window=60)
    for _ in range(5):
        limiter.failed("10.0.0.1", "admin")
    assert limiter.retry_after("10.0.0.1", "someone") == 60   # by address
    assert limiter.retry_after("10.0.0.2", "ADMIN") == 60     # by user, any address
    assert limiter.retry_after("10.0.0.2", "other") == 0

    now[0] = 61
    for _ in range(5):
        limiter.failed("10.0.0.1", "admin")
    assert limiter.retry_after("10.0.0.1", "admin") == 120    # the second lockout doubles
    limiter.succeeded("10.0.0.1", "admin")
    assert limiter.retry_after("10.0.0.1", "admin") == 0


def test_logout_ends_the_session(admin):
    session = admin.cookies[SESSION_COOKIE]
    assert admin.post("/logout", data={"csrf_token": admin.csrf()}).status_code == 303
    admin.cookies.set(SESSION_COOKIE, session)  # replaying the old cookie
    assert admin.get("/sites").status_code == 303


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil"])
def test_login_never_sends_the_admin_to_another_site(dashboard, target):
    with dashboard.client() as client:
        client.setup()
        answer = client.post("/login", data={"csrf_token": client.form_token("/login"),
                                             "username": "admin", "password": PASSWORD,
                                             "next": target})
        assert answer.headers["location"] == "/sites"


def test_a_pasted_secret_is_never_sent_back(admin):
    secret = "pasted-secret-value-that-must-not-come-back-0123456789"
    page = admin.post("/accounts", data={"name": "agency", "token": secret,
                                         "csrf_token": admin.csrf()})
    assert page.status_code >= 400  # the API behind it is unreachable here
    assert 'class="error"' in page.text
    assert secret not in page.text

    answer = admin.post("/api/v1/accounts", json={"name": 5, "token": secret},
                        headers={"X-CSRF-Token": admin.csrf()})
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "validation"
    assert secret not in answer.text


def test_api_errors_have_one_shape_and_no_stack_trace(admin):
    bearer = {"Authorization": f"Bearer {admin.api_token()}"}
    with Client(str(admin.base_url)) as program:
        for method, path, body in (("GET", "/api/v1/jobs/nope", None),
                                   ("GET", "/api/v1/sites/nope.example", None),
                                   ("GET", "/api/v1/accounts/nobody", None),
                                   ("POST", "/api/v1/sites/nope.example/certificates", {}),
                                   ("POST", "/api/v1/accounts", {"name": "x"}),
                                   ("GET", "/api/v1/audit?limit=0", None)):
            answer = program.request(method, path, json=body, headers=bearer)
            assert 400 <= answer.status_code < 500, (path, answer.text)
            error = answer.json()["error"]
            assert set(error) == {"code", "message", "hint"}
            assert "Traceback" not in answer.text
