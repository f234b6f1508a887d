"""Password reset by e-mail: a signed link that works once, for an hour, for one password.

The token signs the user's public id and a digest of their current password hash. Any
password change (this reset, the account page, the command line) makes a new hash, with a
new salt, so the token is dead after use and after any other change, with nothing stored.
"""

import hashlib
import hmac

from flask import current_app, render_template
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from webapp.extensions import db
from webapp.mail import compose, in_background, mail_configured, send
from webapp.models import AuditAction, User
from webapp.rules.passwords import password_problem
from webapp.rules.problems import Problem
from webapp.services import audit
from webapp.services.users import InvalidAccount

TOKEN_LIFETIME = 3600  # seconds
PRODUCT_NAME = "Digital Person token issuer"


class ResetLinkInvalid(Exception):
    """Forged, expired, used, or for a password that has changed since."""


class ResetLinkExpired(ResetLinkInvalid):
    pass


def password_reset_offered() -> bool:
    """With no mail server, development logs the mail; production cannot send it at all."""
    return mail_configured() or current_app.config["DEPLOYMENT"] == "development"


def serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def password_digest(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode("utf-8")).hexdigest()[:32]


def make_token(user: User) -> str:
    return serializer().dumps([user.public_id, password_digest(user)])


def user_for_token(token: str) -> User:
    """The user the token was made for, if it still holds; otherwise ResetLinkInvalid."""
    try:
        public_id, digest = serializer().loads(token, max_age=TOKEN_LIFETIME)
    except SignatureExpired:
        raise ResetLinkExpired() from None
    except (BadSignature, ValueError, TypeError):
        raise ResetLinkInvalid() from None
    user = db.session.scalar(db.select(User).filter_by(public_id=str(public_id)))
    if user is None or not user.is_active:
        raise ResetLinkInvalid()
    if not hmac.compare_digest(password_digest(user), str(digest)):
        raise ResetLinkInvalid()
    return user


def reset_link(token: str) -> str:
    """From PUBLIC_URL, never from the request's Host header, which an attacker chooses."""
    return f"{current_app.config['PUBLIC_URL']}/reset-password/{token}"


def request_reset(email: str) -> None:
    """Look the address up and mail it a link, on another thread: the answer takes the same
    time whether or not the address has an account, and the caller answers the same way."""
    in_background(send_reset_mail, email)


def send_reset_mail(email: str) -> None:
    """Mail a reset link if the address has an active account; do nothing if not."""
    user = User.by_email(email)
    if user is None or not user.is_active:
        return
    link = reset_link(make_token(user))
    minutes = TOKEN_LIFETIME // 60
    context = {"link": link, "minutes": minutes, "product": PRODUCT_NAME}
    send(
        compose(
            user.email,
            f"Reset your password for the {PRODUCT_NAME}",
            render_template("mail/reset_password.txt", **context),
            render_template("mail/reset_password.html", **context),
        )
    )


def reset_password(user: User, new_password: str) -> None:
    """Set the new password; every session of the user ends. Raises InvalidAccount when the
    password breaks the sign-up rule."""
    if message := password_problem(new_password, user.email):
        raise InvalidAccount([Problem("password", "weak", {"message": message})])
    user.set_password(new_password)
    user.email_confirmed = True  # the link proved the mailbox
    audit.record(AuditAction.RESET_PASSWORD, user, {}, {}, user)
