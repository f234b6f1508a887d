"""Changing accounts as an admin or from the command line; every change is audited."""

from typing import Literal

from webapp.extensions import db
from webapp.models import User
from webapp.services import audit

MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # bounds the work one sign-in costs the server


def password_problem(password: str) -> str | None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        return f"Use at least {MIN_PASSWORD} characters (and at most {MAX_PASSWORD:,})."
    return None


class LastAdmin(Exception):
    """The change would leave no active admin."""


def active_admin_count(*, lock: bool = False) -> int:
    """With `lock`, the admins' rows stay locked until commit (on PostgreSQL), so two admins
    removing each other at the same moment cannot both succeed."""
    select = db.select(User.id).filter_by(is_admin=True, is_active=True)
    if lock:
        select = select.with_for_update()
    return len(db.session.scalars(select).all())


def create_user(
    email: str, password: str, locale: str, *, is_admin: bool, actor: User | Literal["self"] | None
) -> User:
    """A new account (flushed, so it has an id), audited as made by `actor`, or by the
    new user when actor is the string "self" (first-run setup). The caller commits."""
    user = User(email=email, locale=locale, is_admin=is_admin)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record("create", user, {}, audit.user_state(user), user if actor == "self" else actor)
    return user


def set_flag(user: User, flag: str, value: bool, actor: User | None) -> None:
    """Grant or remove admin rights (`is_admin`), or enable or disable (`is_active`)."""
    if getattr(user, flag) == value:
        return
    losing_an_admin = user.is_admin and user.is_active and not value
    if losing_an_admin and active_admin_count(lock=True) <= 1:
        raise LastAdmin("There must stay at least one active admin.")
    before = audit.user_state(user)
    setattr(user, flag, value)
    action = {
        ("is_admin", True): "grant_admin",
        ("is_admin", False): "remove_admin",
        ("is_active", True): "enable",
        ("is_active", False): "disable",
    }[flag, value]
    audit.record(action, user, before, audit.user_state(user), actor)
