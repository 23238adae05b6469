"""The dashboard and its REST API: the guide's click path in a browser, safe to expose.

A front, like the CLI: it parses a request, calls one operation and shows its
result. Module map:

- ``app``: builds the ASGI application (``create_app``) from a ``DashboardConfig``;
- ``guard``: the middleware every request passes first (who is asking, CSRF,
  security headers); it refuses by default, so a new route is protected unasked;
- ``users``: the dashboard's own state in ``dashboard.db`` (admin, sessions,
  API tokens) with ``tables``; ``limits``: the login rate limiter;
- ``operations``: the thin calls into the product's operations, shared by pages and API;
- ``jobs``: long operations (Generate & Install, doctor) in a worker thread,
  with progress lines that can be read while they run;
- ``api``: ``/api/v1`` and its OpenAPI document; ``pages``: the HTML pages;
- ``problems``: every error as one JSON shape or one line on a page.
"""

from origincert.dashboard.app import DashboardConfig, create_app

__all__ = ["DashboardConfig", "create_app"]
