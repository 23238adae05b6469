"""Publicly trusted certificates from an ACME CA, through DNS-01 on the Cloudflare account.

For names that visitors reach directly, where an Origin CA certificate (trusted only
through Cloudflare's proxy) is the wrong tool. Built on the ``acme`` package.

    from origincert.acme import obtain, account_key_path, LETSENCRYPT

    result = obtain(client, zones, names, key, directory=LETSENCRYPT,
                    account_key_path=account_key_path(state_dir, LETSENCRYPT))
    result.fullchain_pem  # what the web server serves
"""

from origincert.acme.account import account_key_path
from origincert.acme.choice import (RENEW_BEFORE_DAYS, recommend_ca, record_proxied_for,
                                    renewal_due)
from origincert.acme.dns01 import CHALLENGE_LABEL, record_name
from origincert.acme.errors import AcmeError
from origincert.acme.order import (DIRECTORIES, LETSENCRYPT, LETSENCRYPT_STAGING, STEPS,
                                   AcmeResult, directory_url, obtain)

REQUEST_TYPE = "acme"  # the certificates table's request_type for these certificates

__all__ = [
    "CHALLENGE_LABEL",
    "DIRECTORIES",
    "LETSENCRYPT",
    "LETSENCRYPT_STAGING",
    "RENEW_BEFORE_DAYS",
    "REQUEST_TYPE",
    "STEPS",
    "AcmeError",
    "AcmeResult",
    "account_key_path",
    "directory_url",
    "obtain",
    "recommend_ca",
    "record_name",
    "record_proxied_for",
    "renewal_due",
]
