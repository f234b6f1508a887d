"""Opening an account from a form: sign-up and first-run setup share this one path."""

from flask import flash, redirect
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm

from webapp.extensions import db
from webapp.login import start_session
from webapp.services.users import EmailTaken, InvalidAccount, create_user

EMAIL_TAKEN = "That email already has an account. Sign in instead."


def open_account(
    form: FlaskForm, *, is_admin: bool, welcome: str, then: str
) -> ResponseReturnValue | None:
    """Create the account the form describes and sign it in; on a refusal, the reasons go
    beside the form's fields and None is returned, for the view to show the form again."""
    try:
        user = create_user(
            form.email.data, form.password.data, form.locale.data, is_admin=is_admin, actor="self"
        )
        db.session.commit()
    except EmailTaken:
        db.session.rollback()
        form.email.errors.append(EMAIL_TAKEN)
        return None
    except InvalidAccount as refusal:
        db.session.rollback()
        for problem in refusal.problems:
            form[problem.field].errors.append(problem.params["message"])
        return None
    start_session(user)
    flash(welcome)
    return redirect(then)
