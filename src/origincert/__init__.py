"""origincert: verified Full (strict) HTTPS behind Cloudflare with Origin CA certificates."""

__version__ = "0.1.0"
