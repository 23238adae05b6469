"""Who may use the dashboard: the admin, login sessions and API tokens.

The admin's password is hashed with argon2id (memory-hard). Session ids and
API tokens are 256-bit random values: a fast SHA-256 digest is enough to keep
them useless to someone who reads the database, and lets every request be
checked without spending 64 MiB of memory on it.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import create_engine, delete, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from origincert.dashboard.tables import (
    SCHEMA_VERSION,
    Admin,
    ApiToken,
    DashboardBase,
    DashboardSchema,
    LoginSession,
)
from origincert.errors import UsageError
from origincert.files import ensure_dir, write_atomic
from origincert.state.db import utc_now
from origincert.state.paths import StatePaths

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

DB_NAME = "dashboard.db"
SESSION_LIFETIME = timedelta(hours=12)
TOKEN_PREFIX = "ocd_"
MIN_PASSWORD = 12
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")


@dataclass(frozen=True)
class Principal:
    """Who a request comes from: the admin by session, or an API token."""

    kind: str                      # "session" or "token"
    name: str                      # the admin's username, or the token's name
    csrf_token: str | None = None  # sessions only: what every change must carry


class Users:
    """The admin, sessions and API tokens, in ``<state>/dashboard.db``."""

    def __init__(self, paths: StatePaths, *, clock: Clock = utc_now,
                 hasher: PasswordHasher | None = None) -> None:
        self._clock = clock
        self._hasher = hasher or PasswordHasher()  # argon2id, 64 MiB, 3 passes
        self._engine = _open_engine(paths)
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)
        with self._session() as session:
            DashboardBase.metadata.create_all(session.connection())
            if session.get(DashboardSchema, 1) is None:
                session.add(DashboardSchema(id=1, version=SCHEMA_VERSION))
        # a hash to verify against when the username is unknown, so timing says nothing
        self._decoy = self._hasher.hash(secrets.token_urlsafe(16))

    def close(self) -> None:
        self._engine.dispose()

    # the admin

    def has_admin(self) -> bool:
        with self._session() as session:
            return session.scalar(select(Admin.id).limit(1)) is not None

    def create_admin(self, username: str, password: str) -> Admin:
        """The first-run setup: exactly one admin, with a password worth the name."""
        username = username.strip().lower()
        _check_new_admin(username, password)
        with self._session() as session:
            if session.scalar(select(Admin.id).limit(1)) is not None:
                raise UsageError("the dashboard already has its admin",
                                 hint="log in; to start over, delete dashboard.db")
            admin = Admin(username=username, password_hash=self._hasher.hash(password),
                          created_at=self._clock())
            session.add(admin)
        log.info("dashboard admin created username=%s", username)
        return admin

    def authenticate(self, username: str, password: str) -> Admin | None:
        """The admin whose password this is, or None (unknown user or wrong password)."""
        with self._session() as session:
            admin = session.scalar(select(Admin).where(Admin.username == username.strip().lower()))
            try:
                self._hasher.verify(admin.password_hash if admin else self._decoy, password)
            except (VerificationError, InvalidHashError):
                return None
            if admin is None:
                return None
            if self._hasher.check_needs_rehash(admin.password_hash):
                admin.password_hash = self._hasher.hash(password)
            return admin

    # sessions

    def open_session(self, admin: Admin) -> str:
        """A new session for ``admin``; returns the cookie value (kept only as a digest)."""
        value = secrets.token_urlsafe(32)
        now = self._clock()
        with self._session() as session:
            session.execute(delete(LoginSession).where(LoginSession.expires_at <= now))
            session.add(LoginSession(digest=_digest(value), admin_id=admin.id,
                                     csrf_token=secrets.token_urlsafe(32), created_at=now,
                                     expires_at=now + SESSION_LIFETIME))
        return value

    def session_principal(self, value: str) -> Principal | None:
        with self._session() as session:
            found = session.scalar(select(LoginSession).where(
                LoginSession.digest == _digest(value)))
            if found is None or found.expires_at <= self._clock():
                return None
            admin = session.get(Admin, found.admin_id)
            if admin is None:
                return None
            return Principal("session", admin.username, found.csrf_token)

    def close_session(self, value: str) -> None:
        with self._session() as session:
            session.execute(delete(LoginSession).where(LoginSession.digest == _digest(value)))

    # API tokens

    def create_token(self, name: str) -> tuple[str, ApiToken]:
        """A new API token; its value is returned once and never stored."""
        name = name.strip()
        if not name or len(name) > 100:
            raise UsageError("an API token needs a name of 1 to 100 characters")
        value = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = ApiToken(name=name, digest=_digest(value), hint=value[:len(TOKEN_PREFIX) + 6],
                         created_at=self._clock())
        with self._session() as session:
            session.add(token)
        log.info("dashboard api token created name=%s", name)
        return value, token

    def token_principal(self, value: str) -> Principal | None:
        if not value.startswith(TOKEN_PREFIX):
            return None
        with self._session() as session:
            token = session.scalar(select(ApiToken).where(ApiToken.digest == _digest(value)))
            if token is None:
                return None
            token.last_used_at = self._clock()
            return Principal("token", token.name)

    def tokens(self) -> list[ApiToken]:
        with self._session() as session:
            return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))

    def revoke_token(self, token_id: int) -> bool:
        with self._session() as session:
            done = session.execute(delete(ApiToken).where(ApiToken.id == token_id))
            return bool(done.rowcount)

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _check_new_admin(username: str, password: str) -> None:
    if not username or len(username) > 64 or not set(username) <= USERNAME_CHARS:
        raise UsageError("the username must be 1 to 64 letters, digits, dots, dashes "
                         "or underscores")
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"the password must have at least {MIN_PASSWORD} characters")
    if password.strip().lower() == username:
        raise UsageError("the password must not be the username")


def _open_engine(paths: StatePaths) -> Engine:
    ensure_dir(paths.state_dir, 0o700)
    db_file = paths.state_dir / DB_NAME
    if not db_file.exists():
        write_atomic(db_file, b"", mode=0o600)  # never world-readable, even for a moment
    engine = create_engine(f"sqlite:///{db_file}")
    event.listen(engine, "connect", _configure_connection)
    return engine


def _configure_connection(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
