"""End users and admins."""

import time
import uuid
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, validates

from webapp.extensions import db
from webapp.models.types import UTCDateTime, utcnow
from webapp.protection.password_hashing import hash_password, password_matches
from webapp.rules.emails import InvalidEmail, normalise_email


class User(UserMixin, db.Model):  # type: ignore[name-defined]  # made at run time by Flask-SQLAlchemy
    __tablename__ = "users"
    # SQLite would otherwise hand a deleted user's id to the next account, and with it the
    # deleted user's entries as actor in the audit trail.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    # The `user_id` claim: stable, public, and not the row number.
    public_id: Mapped[str] = mapped_column(
        String(36), unique=True, default=lambda: str(uuid.uuid4())
    )
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(35), default="en-US")
    is_admin: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Confirmed at creation, except by sign-up with mail configured, which leaves it False
    # (and the account unable to sign in) until the mailed link is used.
    email_confirmed: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # Part of the login id: changing it ends every session and remember-me cookie.
    session_version: Mapped[int] = mapped_column(default=1)
    # The TOTP secret, encrypted with the app's MultiFernet; None while two-factor is off.
    totp_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    # The last time step whose code was accepted: no code is accepted twice.
    totp_last_step: Mapped[int | None]

    @property
    def has_two_factor(self) -> bool:
        return self.totp_secret_encrypted is not None

    @validates("email")
    def _normalise_email(self, _key: str, email: str) -> str:
        return normalise_email(email)

    def set_password(self, password: str) -> None:
        """Store a new password hash; other sessions of this user end."""
        self.password_hash = hash_password(password)
        if self.session_version is not None:
            self.end_sessions()

    def check_password(self, password: str) -> bool:
        return password_matches(self.password_hash, password)

    def end_sessions(self) -> None:
        """Every session and remember-me cookie issued so far stops working, for good: the
        login id they carry names a version that will never come back."""
        self.session_version += 1

    def get_id(self) -> str:
        """The login id Flask-Login keeps in the session and the remember-me cookie, made
        at sign-in: who, which session version, and when (webapp.login.signs_in)."""
        return f"{self.public_id}:{self.session_version}:{int(time.time())}"

    @classmethod
    def by_email(cls, email: str) -> "User | None":
        try:
            address = normalise_email(email)
        except InvalidEmail:
            return None
        return db.session.scalar(db.select(cls).filter_by(email=address))

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class RecoveryCode(db.Model):  # type: ignore[name-defined]  # made at run time by Flask-SQLAlchemy
    """A one-time second factor, kept only as a keyed hash of the code (rules.totp: they are
    random, so a slow hash would add nothing; the key keeps a copied database from searching
    them). Using one deletes its row."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
