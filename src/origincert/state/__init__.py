"""On-disk state: where things live, the SQLite store, sealed secrets, certificate files.

Everything under the state folder is private to root (folders 0700, the
database, the secret key and private keys 0600).
"""
