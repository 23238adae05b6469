"""``/api/v1``: the dashboard's operations for programs, described by OpenAPI.

Every route needs an API token (``Authorization: Bearer``) or a dashboard
session with its CSRF header; the guard checks that before a route runs.
Errors come in one shape (``problems``). Generate & Install is a job:
``POST /sites/{site}/certificates`` answers 202 with the job, whose progress
lines and result are read from ``GET /jobs/{id}``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from origincert.dashboard.context import Dashboard, dashboard
from origincert.dashboard.jobs import Job
from origincert.dashboard.problems import Problem, not_found
from origincert.provision.issue import KEY_TYPES, VALIDITY_DAYS, IssueOptions

# Documents the scheme in the OpenAPI document; the guard does the checking.
_bearer = HTTPBearer(auto_error=False, description="An API token made in the dashboard or "
                     "with 'origincert serve --create-token NAME'.")


class ErrorBody(BaseModel):
    code: str
    message: str
    hint: str | None = None


class ErrorOut(BaseModel):
    error: ErrorBody


_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text} for status, text in (
        (400, "Bad input"), (401, "No valid API token or session"),
        (403, "CSRF token missing (session requests)"), (404, "Not found"),
        (409, "The web server or state prevents it"), (422, "Refused input"),
        (429, "Rate limited"), (502, "Cloudflare failed"))
}

router = APIRouter(dependencies=[Depends(_bearer)], responses=_ERRORS)

Ctx = Annotated[Dashboard, Depends(dashboard)]
Name = Annotated[str, Field(min_length=1, max_length=100)]
# A certificate: its local id or its Cloudflare id (ASCII: "¹".isdigit() is true, int() fails).
Ref = Annotated[str, Path(pattern=r"^[0-9A-Za-z_-]{1,100}$",
                          description="A local id (#N) or a Cloudflare certificate id")]


class ConnectAccount(BaseModel):
    """A Cloudflare account: an API token, or a Global API Key with its email."""

    model_config = ConfigDict(extra="forbid")
    name: Name
    token: SecretStr | None = Field(None, description="A scoped API token", max_length=400)
    key: SecretStr | None = Field(None, description="A Global API Key", max_length=400)
    email: str | None = Field(None, max_length=320)


class IssueRequest(BaseModel):
    """The options of Generate & Install (the CLI's ``issue --site``)."""

    model_config = ConfigDict(extra="forbid")
    account: str | None = Field(None, max_length=100,
                                description="Connected account (default: the one reaching "
                                            "the zone)")
    key_type: Literal[KEY_TYPES] = "ecdsa"  # type: ignore[valid-type]
    validity_days: Literal[VALIDITY_DAYS] = 5475  # type: ignore[valid-type]
    redirect: bool = False
    zone: bool = Field(True, description="Bring the zone to Full (strict) afterwards")
    replace: bool = Field(False, description="Replace a certificate the site serves now")
    reissue: bool = False

    def options(self) -> IssueOptions:
        return IssueOptions(account=self.account or None, key_type=self.key_type,
                            validity_days=self.validity_days, redirect=self.redirect,
                            zone=self.zone, replace=self.replace, reissue=self.reissue)


class JobOut(BaseModel):
    id: str
    kind: str
    subject: str
    status: Literal["queued", "running", "succeeded", "failed"]
    lines: list[str]
    line_count: int
    result: dict[str, Any] | None
    error: ErrorBody | None
    created_at: str
    finished_at: str | None


def job_out(job: Job, since: int = 0) -> dict[str, Any]:
    data = job.to_json(since)
    data["created_at"] = job.created_at.isoformat()
    data["finished_at"] = job.finished_at.isoformat() if job.finished_at else None
    return data


# sites and Generate & Install

@router.get("/sites", summary="Every site of the web server, with zones and certificates")
def list_sites(ctx: Ctx) -> list[dict[str, Any]]:
    return ctx.product.sites()


@router.get("/sites/{site}", summary="One site and the certificates origincert installed on it")
def get_site(site: str, ctx: Ctx) -> dict[str, Any]:
    found = ctx.product.site(site)
    return {**found, "installed": ctx.product.site_certificates(site)}


@router.post("/sites/{site}/certificates", status_code=202, response_model=JobOut,
             summary="Generate & Install: issue an Origin CA certificate and install it")
def issue(site: str, body: IssueRequest, ctx: Ctx, response: Response) -> dict[str, Any]:
    job = ctx.start_issue(site, body.options())
    response.headers["location"] = f"/api/v1/jobs/{job.id}"
    return job_out(job)


@router.get("/jobs/{job_id}", response_model=JobOut, summary="A job: status, progress, result")
def get_job(job_id: str, ctx: Ctx,
            since: Annotated[int, Query(ge=0, le=100_000)] = 0) -> dict[str, Any]:
    job = ctx.jobs.get(job_id)
    if job is None:
        raise not_found(f"no job {job_id}", "jobs are kept in memory until the server restarts")
    return job_out(job, since)


# accounts

@router.get("/accounts", summary="Connected accounts (fingerprints, never secrets)")
def list_accounts(ctx: Ctx) -> list[dict[str, Any]]:
    return ctx.product.accounts()


@router.post("/accounts", status_code=201, summary="Connect an account")
def connect_account(body: ConnectAccount, ctx: Ctx) -> dict[str, Any]:
    return ctx.product.connect(
        body.name, token=body.token.get_secret_value() if body.token else None,
        key=body.key.get_secret_value() if body.key else None, email=body.email)


@router.get("/accounts/{name}", summary="An account and its permission report")
def get_account(name: str, ctx: Ctx) -> dict[str, Any]:
    return ctx.product.account(name)


@router.post("/accounts/{name}/verify", summary="Ask Cloudflare afresh what the account may do")
def verify_account(name: str, ctx: Ctx) -> dict[str, Any]:
    return ctx.product.verify(name)


@router.delete("/accounts/{name}", status_code=204, summary="Forget an account")
def remove_account(name: str, ctx: Ctx) -> Response:
    ctx.product.remove(name)
    return Response(status_code=204)


# certificates, doctor, audit

class RevokeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    force: bool = Field(False, description="Revoke even if a site serves it (visitors then "
                                           "get 526 under Full (strict))")


@router.get("/certificates",
            summary="Every certificate, reconciled across the state, Cloudflare and servers")
def list_certificates(ctx: Ctx, all: bool = False) -> dict[str, Any]:
    return ctx.product.certificates(everything=all)


@router.post("/certificates/{ref}/renew", status_code=202, response_model=JobOut,
             summary="Renew now, with a new key, the sites serving a certificate (a job)")
def renew_certificate(ref: Ref, ctx: Ctx, response: Response) -> dict[str, Any]:
    job = ctx.start_renew(ref)
    response.headers["location"] = f"/api/v1/jobs/{job.id}"
    return job_out(job)


@router.post("/certificates/{ref}/revoke",
             summary="Revoke a certificate at Cloudflare (a served one only with force)")
def revoke_certificate(ref: Ref, ctx: Ctx, body: RevokeRequest | None = None
                       ) -> dict[str, Any]:
    return ctx.revoke(ref, force=bool(body and body.force))


@router.get("/doctor", summary="The last doctor report (null before the first run)")
def get_doctor(ctx: Ctx) -> dict[str, Any]:
    job = ctx.jobs.latest("doctor")
    return {"available": ctx.doctor_available,
            "job": job_out(job) if job is not None else None}


@router.post("/doctor", status_code=202, response_model=JobOut,
             summary="Run doctor on every site, as a job")
def run_doctor(ctx: Ctx, response: Response) -> dict[str, Any]:
    if not ctx.doctor_available:
        raise Problem(409, "unavailable", "doctor not available in this installation")
    job = ctx.start_doctor()
    response.headers["location"] = f"/api/v1/jobs/{job.id}"
    return job_out(job)


@router.get("/audit", summary="The audit log, newest first")
def audit(ctx: Ctx, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    return ctx.product.audit(limit)


@router.get("/whoami", summary="Who this request authenticates as")
def whoami(request: Request) -> dict[str, Any]:
    principal = request.state.principal
    return {"kind": principal.kind, "name": principal.name}
