"""The HTML pages: the guide's click path, server-rendered.

Site → SSL → Add New Certificate → Cloudflare Origin CA → choose the connected
account → Generate & Install, then the progress lines as they come and the
verified result. Every form carries the CSRF token (the guard checks it);
a pasted secret goes into a password field and is never written back.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from origincert.dashboard.context import Dashboard, dashboard
from origincert.dashboard.guard import FORM_COOKIE, SESSION_COOKIE
from origincert.dashboard.problems import Problem, from_error, not_found
from origincert.errors import OriginCertError, UsageError
from origincert.provision.issue import KEY_TYPES, VALIDITY_DAYS, IssueOptions

router = APIRouter(include_in_schema=False)
Ctx = Annotated[Dashboard, Depends(dashboard)]

MESSAGES = {
    "setup": "The admin is created. Log in.",
    "logout": "Logged out.",
    "connected": "Account connected.",
    "verified": "Account verified afresh.",
    "removed": "Account removed.",
    "revoked": "API token revoked.",
    "cert-revoked": "Certificate revoked at Cloudflare.",
}


async def form_data(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


Form = Annotated[dict[str, str], Depends(form_data)]


def render(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    ctx: Dashboard = request.app.state.dashboard
    principal = getattr(request.state, "principal", None)
    message = MESSAGES.get(request.query_params.get("msg", ""))
    return ctx.templates.TemplateResponse(request, template, {
        "principal": principal, "csrf": principal.csrf_token if principal else None,
        "message": message, "doctor_available": ctx.doctor_available, **context,
    }, status_code=status)


def error_page(request: Request, problem: Problem) -> Response:
    return render(request, "error.html", problem.status, problem=problem)


def see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# first-run setup, log in, log out

def _form_token(request: Request) -> str:
    return request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(32)


def _public_form(request: Request, template: str, status: int = 200, **context: Any
                 ) -> Response:
    """A login or setup form, with the CSRF token bound to its own cookie."""
    token = _form_token(request)
    response = render(request, template, status, form_token=token, **context)
    ctx: Dashboard = request.app.state.dashboard
    response.set_cookie(FORM_COOKIE, token, httponly=True, samesite="strict",
                        secure=ctx.secure_cookies, path="/")
    return response


@router.get("/setup")
def setup_page(request: Request, ctx: Ctx) -> Response:
    if ctx.users.has_admin():
        return see("/login")
    return _public_form(request, "setup.html")


@router.post("/setup")
def setup(request: Request, ctx: Ctx, form: Form) -> Response:
    if ctx.users.has_admin():
        return see("/login")
    if not hmac.compare_digest(form.get("setup_code", "").strip().encode(),
                               ctx.setup_code.encode()):
        return _public_form(request, "setup.html", 403, error="That is not the setup code "
                            "printed where 'origincert serve' runs.",
                            username=form.get("username", ""))
    try:
        if form.get("password") != form.get("confirm"):
            raise UsageError("the two passwords differ")
        ctx.users.create_admin(form.get("username", ""), form.get("password", ""))
    except UsageError as err:
        return _public_form(request, "setup.html", 400, error=err.one_line(),
                            username=form.get("username", ""))
    return see("/login?msg=setup")


@router.get("/login")
def login_page(request: Request, ctx: Ctx) -> Response:
    if not ctx.users.has_admin():
        return see("/setup")
    return _public_form(request, "login.html", next=_safe_next(request.query_params.get("next")))


@router.post("/login")
def login(request: Request, ctx: Ctx, form: Form) -> Response:
    username, password = form.get("username", ""), form.get("password", "")
    address = request.client.host if request.client else "unknown"
    target = _safe_next(form.get("next"))
    wait = ctx.limiter.retry_after(address, username)
    if wait > 0:
        response = _public_form(request, "login.html", 429, next=target, username=username,
                                error=f"Too many failed attempts; try again in {wait:.0f} s.")
        response.headers["retry-after"] = str(int(wait) + 1)
        return response

    admin = ctx.users.authenticate(username, password)
    if admin is None:
        ctx.limiter.failed(address, username)
        return _public_form(request, "login.html", 401, next=target, username=username,
                            error="Wrong username or password.")
    ctx.limiter.succeeded(address, username)
    response = see(target)
    response.set_cookie(SESSION_COOKIE, ctx.users.open_session(admin), httponly=True,
                        samesite="strict", secure=ctx.secure_cookies, path="/",
                        max_age=12 * 3600)
    response.delete_cookie(FORM_COOKIE, path="/", httponly=True, samesite="strict",
                           secure=ctx.secure_cookies)
    return response


@router.post("/logout")
def logout(request: Request, ctx: Ctx) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        ctx.users.close_session(cookie)
    response = see("/login?msg=logout")
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict",
                           secure=ctx.secure_cookies)
    return response


def _safe_next(target: str | None) -> str:
    """Only a path of this dashboard: never another site (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/sites"
    return target


# sites and the SSL tab

@router.get("/")
def home() -> Response:
    return see("/sites")


@router.get("/sites")
def sites_page(request: Request, ctx: Ctx) -> Response:
    sites, problem = [], None
    try:
        sites = ctx.product.sites()
    except OriginCertError as err:
        problem = from_error(err)
    doctor = ctx.jobs.latest("doctor")
    findings = _findings_by_site(doctor.result if doctor and doctor.result else None)
    return render(request, "sites.html", sites=sites, problem=problem, findings=findings,
                  doctor_ran=bool(doctor and doctor.result))


@router.get("/sites/{site}")
def site_page(site: str, request: Request, ctx: Ctx) -> Response:
    return render(request, "site.html", site=ctx.product.site(site), tab="overview")


@router.get("/sites/{site}/ssl")
def ssl_tab(site: str, request: Request, ctx: Ctx, job: str | None = None) -> Response:
    info = ctx.product.site(site)
    shown = ctx.jobs.get(job) if job else ctx.jobs.latest("issue", site)
    if shown is not None and (shown.kind != "issue" or shown.subject != site):
        shown = None
    return render(request, "ssl.html", site=info, tab="ssl", job=shown,
                  installed=ctx.product.site_certificates(site))


@router.get("/sites/{site}/ssl/new")
def add_certificate(site: str, request: Request, ctx: Ctx) -> Response:
    return render(request, "ssl_new.html", site=ctx.product.site(site), tab="ssl")


@router.get("/sites/{site}/ssl/new/origin-ca")
def origin_ca_form(site: str, request: Request, ctx: Ctx) -> Response:
    info = ctx.product.site(site)
    accounts = [ctx.product.account(row["name"]) for row in ctx.product.accounts()]
    reaching = next((n["account"] for n in info["hostnames"] if n.get("account")), None)
    serves_other = bool(info.get("certificate")) and not info.get("managed")
    return render(request, "origin_ca.html", site=info, tab="ssl", accounts=accounts,
                  chosen=reaching or (accounts[0]["name"] if accounts else None),
                  key_types=KEY_TYPES, validities=VALIDITY_DAYS, replace=serves_other)


@router.post("/sites/{site}/ssl/new/origin-ca")
def generate_and_install(site: str, ctx: Ctx, form: Form) -> Response:
    try:
        options = IssueOptions(
            account=form.get("account") or None, key_type=form.get("key_type", "ecdsa"),
            validity_days=int(form.get("validity_days", "5475")),
            redirect="redirect" in form, zone="zone" in form, replace="replace" in form)
    except ValueError as err:
        raise Problem(400, "usage", "the validity must be a number of days") from err
    job = ctx.start_issue(site, options)
    return see(f"/sites/{quote(site)}/ssl?job={job.id}")


# accounts

@router.get("/accounts")
def accounts_page(request: Request, ctx: Ctx) -> Response:
    return render(request, "accounts.html", accounts=ctx.product.accounts(),
                  api_base=ctx.product.settings.api_base)


@router.post("/accounts")
def connect_account(request: Request, ctx: Ctx, form: Form) -> Response:
    name = form.get("name", "").strip()
    try:
        ctx.product.connect(name, token=form.get("token") or None, key=form.get("key") or None,
                            email=form.get("email") or None)
    except (OriginCertError, Problem) as err:
        # The pasted secret is not written back into the form: it is typed again.
        return render(request, "accounts.html", from_error(err).status,
                      accounts=ctx.product.accounts(), api_base=ctx.product.settings.api_base,
                      error=from_error(err).one_line(), name=name, email=form.get("email", ""))
    return see(f"/accounts/{quote(name)}?msg=connected")


@router.get("/accounts/{name}")
def account_page(name: str, request: Request, ctx: Ctx) -> Response:
    return render(request, "account.html", account=ctx.product.account(name))


@router.post("/accounts/{name}/verify")
def verify_account(name: str, ctx: Ctx) -> Response:
    ctx.product.verify(name)
    return see(f"/accounts/{quote(name)}?msg=verified")


@router.post("/accounts/{name}/remove")
def remove_account(name: str, ctx: Ctx) -> Response:
    ctx.product.remove(name)
    return see("/accounts?msg=removed")


# certificates, doctor, audit, API tokens

@router.get("/certificates")
def certificates_page(request: Request, ctx: Ctx, all: bool = False,
                      job: str | None = None) -> Response:
    shown = ctx.jobs.get(job) if job else None
    return render(request, "certificates.html", inventory=ctx.product.certificates(
        everything=all), everything=all, job=shown if shown and shown.kind == "renew" else None,
        lifecycle=ctx.lifecycle_available)


@router.post("/certificates/{ref}/renew")
def renew_certificate(ref: str, ctx: Ctx) -> Response:
    return see(f"/certificates?job={ctx.start_renew(ref).id}")


@router.post("/certificates/{ref}/revoke")
def revoke_certificate(ref: str, ctx: Ctx, form: Form) -> Response:
    ctx.revoke(ref, force="force" in form)
    return see("/certificates?all=true&msg=cert-revoked")


@router.get("/doctor")
def doctor_page(request: Request, ctx: Ctx, job: str | None = None) -> Response:
    shown = ctx.jobs.get(job) if job else ctx.jobs.latest("doctor")
    if shown is not None and shown.kind != "doctor":
        shown = None
    return render(request, "doctor.html", job=shown)


@router.post("/doctor")
def run_doctor(ctx: Ctx) -> Response:
    if not ctx.doctor_available:
        raise Problem(409, "unavailable", "doctor not available in this installation")
    return see(f"/doctor?job={ctx.start_doctor().id}")


@router.get("/audit")
def audit_page(request: Request, ctx: Ctx) -> Response:
    return render(request, "audit.html", entries=ctx.product.audit(200))


@router.get("/tokens")
def tokens_page(request: Request, ctx: Ctx) -> Response:
    return render(request, "tokens.html", tokens=ctx.users.tokens())


@router.post("/tokens")
def create_token(request: Request, ctx: Ctx, form: Form) -> Response:
    try:
        value, _token = ctx.users.create_token(form.get("name", ""))
    except UsageError as err:
        return render(request, "tokens.html", 400, tokens=ctx.users.tokens(),
                      error=err.one_line())
    # Shown once, on this response only; the store keeps its digest.
    return render(request, "tokens.html", 201, tokens=ctx.users.tokens(), created=value)


@router.post("/tokens/{token_id}/revoke")
def revoke_token(token_id: int, ctx: Ctx) -> Response:
    if not ctx.users.revoke_token(token_id):
        raise not_found(f"no API token {token_id}")
    return see("/tokens?msg=revoked")


def _findings_by_site(report: dict[str, Any] | None) -> dict[str, dict[str, int]]:
    """Counts of doctor's findings per site, from its last report."""
    if not report:
        return {}
    site_of = {h["hostname"]: h.get("site") for h in report.get("hostnames", [])}
    counts: dict[str, dict[str, int]] = {}
    for item in report.get("findings", []):
        site = site_of.get(item["hostname"])
        if site:
            bucket = counts.setdefault(site, {"error": 0, "warning": 0, "info": 0})
            bucket[item["severity"]] = bucket.get(item["severity"], 0) + 1
    return counts
