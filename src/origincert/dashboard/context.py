"""What every route shares: the product's operations, the users, the jobs, the limiter."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates

from origincert.dashboard.jobs import Job, Jobs
from origincert.dashboard.limits import LoginLimiter
from origincert.dashboard.operations import Product, doctor_available
from origincert.dashboard.problems import not_found
from origincert.dashboard.users import Users

TEMPLATES = Path(__file__).parent / "templates"


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

    def start_issue(self, site: str, options: Any) -> Job:
        """Generate & Install for a site, as a job; an unknown site is refused at once."""
        names = {s.name for s in self.product.server().sites()}
        if site not in names:
            raise not_found(f"no site called {site}", "see the list of sites")
        return self.jobs.submit("issue", site,
                                lambda progress: self.product.issue(site, options, progress))

    def start_doctor(self) -> Job:
        return self.jobs.submit("doctor", "all sites", self.product.doctor)

    def close(self) -> None:
        self.jobs.shutdown()
        self.users.close()
        self.product.store.close()


def dashboard(request: Request) -> Dashboard:
    found: Dashboard = request.app.state.dashboard
    return found
