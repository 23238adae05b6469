"""``origincert harden SITE``: the origin locked down behind Cloudflare, one part at a time.

Each part is opt-in and a server transaction verified through the edge, undone if the
site breaks: real visitor addresses (``real-ip``), Cloudflare-only access
(``allow-cloudflare-only``), a TLS catch-all (``catch-all``) and Authenticated Origin
Pulls (``aop``). The exposure report (``zones.exposure``) says what still leaks.
"""
