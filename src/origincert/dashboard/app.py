"""The ASGI application: API, pages, static files, behind the guard."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.routing import Mount, Route

from origincert import __version__
from origincert.dashboard import api, pages
from origincert.dashboard.context import Dashboard
from origincert.dashboard.guard import Guard
from origincert.dashboard.jobs import Jobs
from origincert.dashboard.limits import LoginLimiter
from origincert.dashboard.operations import Product
from origincert.dashboard.problems import Problem, from_error
from origincert.dashboard.users import Users
from origincert.errors import OriginCertError
from origincert.settings import Settings
from origincert.state.db import Store

log = logging.getLogger(__name__)

# Every router of the dashboard and where it is mounted.
ROUTERS: tuple[tuple[APIRouter, str], ...] = ((api.router, "/api/v1"), (pages.router, ""))


@dataclass
class DashboardConfig:
    settings: Settings
    secure_cookies: bool = False   # also set whenever the dashboard is served over TLS
    tls: bool = False
    setup_code: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    limiter: LoginLimiter = field(default_factory=LoginLimiter)


def create_app(config: DashboardConfig) -> FastAPI:
    paths = config.settings.paths
    state = Dashboard(product=Product(config.settings, Store(paths)), users=Users(paths),
                      jobs=Jobs(), limiter=config.limiter, setup_code=config.setup_code,
                      secure_cookies=config.secure_cookies or config.tls)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        state.close()

    app = FastAPI(title="origincert dashboard API", version=__version__, lifespan=lifespan,
                  openapi_url="/api/v1/openapi.json", docs_url=None, redoc_url=None,
                  description="Generate & Install Cloudflare Origin CA certificates, connect "
                              "accounts, read the inventory, doctor and the audit log.")
    app.state.dashboard = state
    for router, prefix in ROUTERS:
        app.include_router(router, prefix=prefix)
    app.mount("/static", StaticFiles(packages=[("origincert.dashboard", "static")]),
              name="static")
    _handle_errors(app)
    app.add_middleware(Guard, users=state.users, tls=config.tls)
    return app


def route_table(app: FastAPI) -> list[tuple[str, frozenset[str]]]:
    """Every (path, methods) the app answers, its own routes and its routers' alike."""
    table = [(route.path, frozenset(route.methods or ()))
             for route in app.routes if isinstance(route, Route)]
    table += [(route.path, frozenset({"GET"})) for route in app.routes
              if isinstance(route, Mount)]
    for router, prefix in ROUTERS:
        table += [(prefix + route.path, frozenset(route.methods or ()))
                  for route in router.routes if isinstance(route, Route)]
    return table


def _handle_errors(app: FastAPI) -> None:
    """One shape for every error on the API; a page with the same line elsewhere."""

    def respond(request: Request, problem: Problem) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse(problem.to_json(), status_code=problem.status)
        return pages.error_page(request, problem)

    @app.exception_handler(Problem)
    async def on_problem(request: Request, err: Problem) -> Response:
        return respond(request, err)

    @app.exception_handler(OriginCertError)
    async def on_error(request: Request, err: OriginCertError) -> Response:
        return respond(request, from_error(err))

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, err: RequestValidationError) -> Response:
        # Name the fields and what is wrong, never echo the input (it may be a secret).
        wrong = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}"
                          for e in err.errors()[:5])
        return respond(request, Problem(422, "validation", f"invalid request: {wrong}"))

    @app.exception_handler(HTTPException)
    async def on_http(request: Request, err: HTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(err.status_code, "http")
        return respond(request, Problem(err.status_code, code, str(err.detail)))

    @app.exception_handler(Exception)
    async def on_bug(request: Request, err: Exception) -> Response:
        return respond(request, from_error(err))
