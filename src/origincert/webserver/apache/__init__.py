"""Apache (Debian layout, mod_ssl): read the configuration, plan the edits, test and reload."""

from origincert.webserver.apache.edit import CertificateInUseError
from origincert.webserver.apache.server import Apache, ConfigRefusedError, render_include

__all__ = [
    "Apache",
    "CertificateInUseError",
    "ConfigRefusedError",
    "render_include",
]
