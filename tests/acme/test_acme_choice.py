"""Issue 11: which CA a name gets, when an ACME certificate is due, and the account key."""

from __future__ import annotations

import datetime as dt
import stat

import pytest

from origincert.acme import (LETSENCRYPT, LETSENCRYPT_STAGING, AcmeError, account_key_path,
                             directory_url, recommend_ca, record_proxied_for, renewal_due)
from origincert.acme.account import load_account_key
from origincert.cloudflare.client import DnsRecord

RECORDS = [
    DnsRecord("1", "A", "example.org", "198.51.100.20", True, 1),
    DnsRecord("2", "A", "store.example.org", "198.51.100.20", False, 1),
    DnsRecord("3", "CNAME", "www.example.org", "example.org", True, 1),
    DnsRecord("4", "A", "*.tenants.example.org", "198.51.100.20", True, 1),
    DnsRecord("5", "MX", "example.org", "mail.example.org", False, 1),
    DnsRecord("6", "TXT", "mail.example.org", "v=spf1 -all", False, 1),
]


@pytest.mark.parametrize(("hostname", "proxied", "choice"), [
    ("example.org", True, "origin"),
    ("www.example.org", True, "origin"),
    ("a.tenants.example.org", True, "origin"),  # covered by a proxied wildcard record
    ("store.example.org", False, "letsencrypt"),  # the grey record of agency.json
    ("mail.example.org", None, "letsencrypt"),  # no record that could be proxied
    ("nothing.example.org", None, "letsencrypt"),
])
def test_proxied_names_get_origin_ca_and_names_reached_directly_get_acme(
    hostname, proxied, choice
):
    assert record_proxied_for(hostname, RECORDS) is proxied
    assert recommend_ca(hostname, record_proxied_for(hostname, RECORDS)) == choice


def test_renewal_is_due_from_30_days_before_not_after_by_the_injected_clock():
    not_after = dt.datetime(2027, 3, 1, 12, tzinfo=dt.timezone.utc)

    def at(moment: dt.datetime):
        return lambda: moment

    assert not renewal_due(not_after, clock=at(not_after - dt.timedelta(days=30, seconds=1)))
    assert renewal_due(not_after, clock=at(not_after - dt.timedelta(days=30)))
    assert renewal_due(not_after, clock=at(not_after + dt.timedelta(days=1)))
    assert renewal_due(not_after.replace(tzinfo=None), clock=at(not_after))


def test_account_key_is_made_once_0600_in_a_folder_per_directory(tmp_path):
    path = account_key_path(tmp_path, LETSENCRYPT)
    assert path != account_key_path(tmp_path, LETSENCRYPT_STAGING)
    assert path.is_relative_to(tmp_path / "acme")

    first = load_account_key(path)
    again = load_account_key(path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert first.thumbprint() == again.thumbprint()


def test_unreadable_account_key_is_one_line_naming_the_file(tmp_path):
    path = tmp_path / "account.key"
    path.write_text("not a key")

    with pytest.raises(AcmeError) as refused:
        load_account_key(path)

    assert str(path) in refused.value.one_line()


def test_directory_names_and_urls():
    assert directory_url("letsencrypt") == LETSENCRYPT
    assert directory_url("letsencrypt-staging") == LETSENCRYPT_STAGING
    assert directory_url("https://acme.example/dir") == "https://acme.example/dir"
    with pytest.raises(AcmeError):
        directory_url("zerossl")
