"""Opening an account from a form: sign-up and first-run setup share this one path; with
mail configured, sign-up confirms the address by a mailed link first."""

from flask import flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm

from webapp.extensions import db
from webapp.login import start_session
from webapp.models import User
from webapp.protection.password_hashing import hash_password
from webapp.services.email_confirmation import mail_already_registered, mail_confirmation
from webapp.services.users import EmailTaken, InvalidAccount, create_user

EMAIL_TAKEN = "That email already has an account. Sign in instead."


def open_account(
    form: FlaskForm, *, is_admin: bool, welcome: str, then: str
) -> ResponseReturnValue | None:
    """Create the account the form describes and sign it in; on a refusal, the reasons go
    beside the form's fields and None is returned, for the view to show the form again."""
    try:
        user = new_account(form, is_admin=is_admin, confirmed=True)
    except EmailTaken:
        form.email.errors.append(EMAIL_TAKEN)
        return None
    if user is None:
        return None
    start_session(user)
    flash(welcome)
    return redirect(then)


def open_account_by_mail(form: FlaskForm) -> ResponseReturnValue | None:
    """Sign-up when mail is configured. The answer is the same, and as slow, whether or not
    the address has an account (sign-in and reset say nothing of it either): a new account
    waits for the link mailed to it, a taken address's owner is told of the attempt."""
    try:
        user = new_account(form, is_admin=False, confirmed=False)
    except EmailTaken as taken:
        hash_password(form.password.data or "")  # the time a new account's hash takes
        mail_already_registered(str(taken))
        return redirect(url_for("auth.register_sent"))
    if user is None:
        return None
    mail_confirmation(user.public_id)
    return redirect(url_for("auth.register_sent"))


def new_account(form: FlaskForm, *, is_admin: bool, confirmed: bool) -> User | None:
    """The committed account, or None with the form's field errors set; EmailTaken (rolled
    back) only once every field passed its rules."""
    try:
        user = create_user(
            form.email.data,
            form.password.data,
            form.locale.data,
            is_admin=is_admin,
            actor="self",
            confirmed=confirmed,
        )
        db.session.commit()
    except EmailTaken:
        db.session.rollback()
        raise
    except InvalidAccount as refusal:
        db.session.rollback()
        for problem in refusal.problems:
            form[problem.field].errors.append(problem.params["message"])
        return None
    return user
