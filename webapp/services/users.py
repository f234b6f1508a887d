"""Accounts: the one path that creates them (sign-up, first-run setup, the command line) and
the audited changes admins make. Each function checks its own rules and raises typed errors;
the caller commits, or rolls back on an error."""

from typing import Literal

from sqlalchemy.exc import IntegrityError

from webapp.extensions import db
from webapp.models import AuditAction, RecoveryCode, User
from webapp.rules.emails import InvalidEmail, normalise_email
from webapp.rules.locales import InvalidLocale, normalise_locale
from webapp.rules.passwords import password_problem
from webapp.rules.problems import Problem
from webapp.services import audit


class InvalidAccount(ValueError):
    """The e-mail, password or locale breaks a rule; `problems` says which and why."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.params['message']}" for p in problems))


class EmailTaken(Exception):
    """Another account already has this e-mail address."""


class LastAdmin(Exception):
    """The change would leave no active admin."""


def active_admin_count() -> int:
    return len(
        db.session.scalars(db.select(User.id).filter_by(is_admin=True, is_active=True)).all()
    )


def lock_admins() -> None:
    """Hold the active admins' rows until commit, so that two admins removing each other at
    the same moment cannot both succeed. PostgreSQL locks the rows; SQLite has no row locks
    and begins its transactions lazily, so a write is what takes its one write lock, at once."""
    if db.session.get_bind().dialect.name == "sqlite":
        touch = db.update(User).where(User.is_admin, User.is_active).values(is_admin=User.is_admin)
        db.session.execute(touch.execution_options(synchronize_session=False))
    else:
        db.session.scalars(
            db.select(User.id)
            .filter_by(is_admin=True, is_active=True)
            .order_by(User.id)
            .with_for_update()
        ).all()


def account_values(email: str, password: str, locale: str) -> tuple[str, str]:
    """The normalised (email, locale), or InvalidAccount naming every field that is wrong."""
    problems = []
    if message := password_problem(password, email):
        problems.append(Problem("password", "weak", {"message": message}))
    try:
        email = normalise_email(email)
    except InvalidEmail as error:
        problems.append(Problem("email", "invalid", {"message": str(error)}))
    try:
        locale = normalise_locale(locale)
    except InvalidLocale as error:
        problems.append(Problem("locale", "invalid", {"message": str(error)}))
    if problems:
        raise InvalidAccount(problems)
    return email, locale


def create_user(
    email: str,
    password: str,
    locale: str,
    *,
    is_admin: bool,
    actor: User | Literal["self"] | None,
    confirmed: bool = True,
) -> User:
    """A new account (flushed, so it has an id), audited as made by `actor`, or by the new
    user when actor is "self" (sign-up and first-run setup). `confirmed=False` leaves the
    address to be confirmed by the mailed link (sign-up when mail is configured).

    Raises InvalidAccount or EmailTaken, only after every field passed its rules."""
    email, locale = account_values(email, password, locale)
    if User.by_email(email) is not None:
        raise EmailTaken(email)
    user = User(email=email, locale=locale, is_admin=is_admin)
    user.email_confirmed = confirmed
    user.set_password(password)
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:
        # Taken at the same moment by another request; the unique index refused the row.
        raise EmailTaken(email) from None
    by = user if actor == "self" else actor
    audit.record(AuditAction.CREATE, user, {}, audit.user_state(user), by)
    return user


FLAG_ACTIONS = {
    ("is_admin", True): AuditAction.GRANT_ADMIN,
    ("is_admin", False): AuditAction.REMOVE_ADMIN,
    ("is_active", True): AuditAction.ENABLE,
    ("is_active", False): AuditAction.DISABLE,
}


def set_flag(user: User, flag: str, value: bool, actor: User | None) -> None:
    """Grant or remove admin rights (`is_admin`), or enable or disable (`is_active`)."""
    action = FLAG_ACTIONS[flag, value]
    if user.is_admin and user.is_active and not value:
        lock_admins()
        db.session.refresh(user)  # as it is now that no one else can change it
        if user.is_admin and user.is_active and active_admin_count() <= 1:
            raise LastAdmin("There must stay at least one active admin.")
    if getattr(user, flag) == value:
        return
    before = audit.user_state(user)
    setattr(user, flag, value)
    if not value:
        # Disabled or demoted: sessions end now, and enabling again does not revive them.
        user.end_sessions()
    audit.record(action, user, before, audit.user_state(user), actor)


def delete_account(user: User) -> None:
    """The user deletes their own account: the row and its personal data (e-mail, password
    hash, locale, second factor) go; the trail records it under the public id alone. Tokens
    already issued stay valid until they expire. Raises LastAdmin for the last active admin."""
    if user.is_admin and user.is_active:
        lock_admins()  # the same race-safe guard as demotion
        if active_admin_count() <= 1:
            raise LastAdmin("You are the last active admin: make another admin first.")
    audit.record(AuditAction.DELETE_ACCOUNT, user, {}, {}, user, label=user.public_id)
    db.session.execute(db.delete(RecoveryCode).filter_by(user_id=user.id))
    db.session.delete(user)
