"""nginx: read the real configuration, plan the edits, test and reload."""

from origincert.webserver.nginx.edit import CertificateInUseError
from origincert.webserver.nginx.names import plain_hostname, sample_name, to_site_key
from origincert.webserver.nginx.server import Nginx, render_include

__all__ = [
    "CertificateInUseError",
    "Nginx",
    "plain_hostname",
    "render_include",
    "sample_name",
    "to_site_key",
]
