"""Forgot your password? A link by e-mail, then a new password."""

from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from webapp.auth.blueprint import bp
from webapp.auth.forms import ForgotPasswordForm, ResetPasswordForm
from webapp.extensions import db
from webapp.login import start_session
from webapp.protection.rate_limits import reset_per_address, reset_per_email
from webapp.services.password_reset import (
    ResetLinkExpired,
    ResetLinkInvalid,
    password_reset_offered,
    request_reset,
    reset_password,
    user_for_token,
)
from webapp.services.users import InvalidAccount


@bp.route("/forgot-password", methods=["GET", "POST"])
@reset_per_address
@reset_per_email
def forgot_password() -> ResponseReturnValue:
    if not password_reset_offered():
        abort(404)
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        request_reset(form.email.data or "")
        # The same answer whether or not the address has an account.
        return redirect(url_for("auth.forgot_password_sent"))
    return render_template("auth/forgot_password.html", form=form)


@bp.get("/forgot-password/sent")
def forgot_password_sent() -> ResponseReturnValue:
    if not password_reset_offered():
        abort(404)
    return render_template("auth/forgot_password_sent.html")


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password_page(token: str) -> ResponseReturnValue:
    try:
        user = user_for_token(token)
    except ResetLinkInvalid as refusal:
        expired = isinstance(refusal, ResetLinkExpired)
        body = render_template("auth/reset_link_invalid.html", expired=expired)
        return body, 400, {"Referrer-Policy": "no-referrer"}
    form = ResetPasswordForm(account_email=user.email)
    if form.validate_on_submit():
        try:
            reset_password(user, form.new_password.data or "")
        except InvalidAccount as refusal:
            form.new_password.errors = [p.params["message"] for p in refusal.problems]
        else:
            db.session.commit()
            if user.has_two_factor:
                # The link proves the mailbox, not the second factor: sign in with both.
                flash("Your password is set. Sign in with it and your second factor.")
                return redirect(url_for("auth.login"))
            start_session(user)
            flash("Your password is set, and every other session is signed out.")
            return redirect(url_for("main.index"))
    body = render_template("auth/reset_password.html", form=form)
    # The token is in this page's URL: no Referer may carry it to another site.
    return body, 200, {"Referrer-Policy": "no-referrer"}
