"""The tables of ``dashboard.db``: the admin, login sessions and API tokens.

They live apart from ``state.db`` on purpose: the product's schema has its own
version and migrations, and who may open the dashboard is a separate concern
from what origincert did to a server. Deleting ``dashboard.db`` resets the
dashboard (a forgotten password) without touching a certificate or account.

Nothing here is stored in a form that can be replayed: passwords are argon2id
hashes, session ids and API tokens are stored as SHA-256 digests.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from origincert.state.models import UTCDateTime

SCHEMA_VERSION = 1


class DashboardBase(DeclarativeBase):
    pass


class DashboardSchema(DashboardBase):
    __tablename__ = "dashboard_schema"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)


class Admin(DashboardBase):
    __tablename__ = "admins"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"Admin(id={self.id}, username={self.username!r})"


class LoginSession(DashboardBase):
    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the cookie value
    admin_id: Mapped[int] = mapped_column(ForeignKey("admins.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    def __repr__(self) -> str:
        return f"LoginSession(id={self.id}, admin_id={self.admin_id})"


class ApiToken(DashboardBase):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    digest: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the token
    hint: Mapped[str] = mapped_column(String(16))  # the token's public prefix, to tell them apart
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"ApiToken(id={self.id}, name={self.name!r})"
