"""Confirming a new address by a mailed link, when mail is configured: sign-up answers the
same whether or not the address is taken, and mails its owner either the link or a note.

The link signs the user's public id and address; it works for CONFIRM_LIFETIME and confirms
once (a second use changes nothing)."""

from flask import current_app, render_template
from itsdangerous import BadSignature, URLSafeTimedSerializer

from webapp.extensions import db
from webapp.mail import compose, in_background, send
from webapp.models import User
from webapp.services.password_reset import PRODUCT_NAME, make_token, reset_link

CONFIRM_LIFETIME = 2 * 24 * 3600  # seconds


class ConfirmLinkInvalid(Exception):
    """Forged, expired, or for an account that is gone or has another address now."""


def serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="email-confirm")


def confirm_link(user: User) -> str:
    """From PUBLIC_URL, never from the request's Host header, which an attacker chooses."""
    token = serializer().dumps([user.public_id, user.email])
    return f"{current_app.config['PUBLIC_URL']}/register/confirm/{token}"


def confirm(token: str) -> User:
    """Mark the address confirmed (once); ConfirmLinkInvalid when the link does not hold.
    The caller commits."""
    try:
        public_id, email = serializer().loads(token, max_age=CONFIRM_LIFETIME)
    except (BadSignature, ValueError, TypeError):
        raise ConfirmLinkInvalid() from None
    user = db.session.scalar(db.select(User).filter_by(public_id=str(public_id)))
    if user is None or user.email != email:
        raise ConfirmLinkInvalid()
    user.email_confirmed = True
    return user


def mail_confirmation(public_id: str) -> None:
    """In the background: the link, to the address that signed up."""
    in_background(send_confirmation, public_id)


def send_confirmation(public_id: str) -> None:
    user = db.session.scalar(db.select(User).filter_by(public_id=public_id))
    if user is None or user.email_confirmed:
        return
    context = {"link": confirm_link(user), "days": CONFIRM_LIFETIME // 86400}
    send(
        compose(
            user.email,
            f"Confirm your address for the {PRODUCT_NAME}",
            render_template("mail/confirm_email.txt", product=PRODUCT_NAME, **context),
            render_template("mail/confirm_email.html", product=PRODUCT_NAME, **context),
        )
    )


def mail_already_registered(email: str) -> None:
    """In the background: the address has an account; its owner learns of the attempt, with
    a reset link (which also confirms an account someone else opened with their address)."""
    in_background(send_already_registered, email)


def send_already_registered(email: str) -> None:
    user = User.by_email(email)
    if user is None or not user.is_active:
        return
    context = {"link": reset_link(make_token(user)), "product": PRODUCT_NAME}
    send(
        compose(
            user.email,
            f"Your account on the {PRODUCT_NAME}",
            render_template("mail/already_registered.txt", **context),
            render_template("mail/already_registered.html", **context),
        )
    )
