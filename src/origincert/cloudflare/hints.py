"""Cloudflare error codes and what the user should do about each.

Codes and messages are from the fact sheet (§1.6, §2.4, §4, §6, §7); the
hints are ours. An error shown to a user always carries the code, the API's
own message and the Ray ID; the hint is added where the code is known.
"""

from __future__ import annotations

HINTS: dict[int, str] = {
    1000: "the API token is not valid: check that it was copied whole, or create a new one",
    1001: "this endpoint does not take account-owned tokens; use a user API token",
    1004: "Cloudflare refused a field of the request: the message names it",
    1006: "Cloudflare does not know this zone setting",
    1007: "Cloudflare refused this value for the setting",
    1012: "listing Origin CA certificates needs a zone id",
    1016: (
        "the credential may not issue Origin CA certificates here: add Zone → SSL and "
        "Certificates → Edit for this zone, and make sure the member has API access"
    ),
    1057: "this setting cannot be changed on this zone's plan",
    1100: "Cloudflare failed to store the certificate; this is usually transient, try again",
    6003: "a request header was malformed: the credential is probably of the wrong kind",
    6102: "the email is malformed: pass the account's login email with --email",
    6103: (
        "the Global API Key is malformed: an API token or an Origin CA key was probably "
        "given as a Global API Key"
    ),
    6111: (
        "the API token is malformed: a Global API Key was probably given as a token "
        "(use --email with --key-file for a Global API Key)"
    ),
    7003: "Cloudflare does not know this object or route",
    9003: "Cloudflare does not allow this target behind the proxy",
    9004: "only A, AAAA and CNAME records can be proxied",
    9041: "records pointing at private addresses cannot be proxied",
    9103: (
        "Cloudflare does not know this email and Global API Key pair: check the login email "
        "and copy the key again (My Profile → API Tokens → Global API Key)"
    ),
    9106: "no credential was sent: connect an account with `origincert account add`",
    9109: (
        "the token is unknown, revoked or not allowed from this address: check it in the "
        "dashboard"
    ),
    10000: (
        "the credential lacks a permission for this call: run `origincert account verify` "
        "to see which"
    ),
    10100: "the API rate limit was reached: wait for the window to pass, then retry",
    971: "the API rate limit was reached: wait for the window to pass, then retry",
}


def hint_for(code: int | None) -> str | None:
    return HINTS.get(code) if code is not None else None
