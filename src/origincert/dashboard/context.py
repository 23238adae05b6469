"""What every route shares: the product's operations, the users, the jobs, the limiter."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.templating import Jinja2Templates

from origincert.dashboard.jobs import Job, Jobs
from origincert.dashboard.limits import LoginLimiter
from origincert.dashboard.operations import Product, doctor_available, lifecycle_available
from origincert.dashboard.problems import Problem, not_found
from origincert.dashboard.users import Users

TEMPLATES = Path(__file__).parent / "templates"
REF = re.compile(r"[0-9A-Za-z_-]{1,100}")


@dataclass
class Dashboard:
    product: Product
    users: Users
    jobs: Jobs
    limiter: LoginLimiter
    setup_code: str
    secure_cookies: bool = False
    templates: Jinja2Templates = field(
        default_factory=lambda: Jinja2Templates(directory=str(TEMPLATES)))

    @property
    def doctor_available(self) -> bool:
        return doctor_available()

    def __post_init__(self) -> None:
        # Imported macros see globals only: URL-quoting a name is one of them.
        self.templates.env.globals["q"] = lambda text: quote(str(text), safe="")

    def start_issue(self, site: str, options: Any) -> Job:
        """Generate & Install for a site, as a job; an unknown site is refused at once."""
        names = {s.name for s in self.product.server().sites()}
        if site not in names:
            raise not_found(f"no site called {site}", "see the list of sites")
        return self.jobs.submit("issue", site,
                                lambda progress: self.product.issue(site, options, progress))

    def start_renew(self, ref: str) -> Job:
        """Renew now the sites serving certificate ``ref``, as a job."""
        if not lifecycle_available():
            raise Problem(409, "unavailable", "renew is not available in this installation")
        _check_ref(ref)
        if not self.product.known_certificate(ref):
            raise not_found(f"no certificate {ref} recorded", "see the certificates")
        return self.jobs.submit("renew", ref,
                                lambda progress: self.product.renew(ref, progress))

    def revoke(self, ref: str, *, force: bool) -> dict[str, Any]:
        if not lifecycle_available():
            raise Problem(409, "unavailable", "revoke is not available in this installation")
        _check_ref(ref)
        return self.product.revoke(ref, force=force)

    @property
    def lifecycle_available(self) -> bool:
        return lifecycle_available()

    def start_doctor(self) -> Job:
        return self.jobs.submit("doctor", "all sites", self.product.doctor)

    def close(self) -> None:
        self.jobs.shutdown()
        self.users.close()
        self.product.store.close()


def _check_ref(ref: str) -> None:
    """A certificate is named by its local id or Cloudflare id: ASCII letters and digits."""
    if not REF.fullmatch(ref):
        raise Problem(400, "usage", "a certificate is named by its local id or its "
                      "Cloudflare id", "see the ids on the Certificates page")


def dashboard(request: Request) -> Dashboard:
    found: Dashboard = request.app.state.dashboard
    return found
