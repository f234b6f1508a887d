"""The second factor: turning TOTP on and off on /account/two-factor, and the second sign-in
step on /login/two-factor between the password and a signed-in session."""

import time

import segno
from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from markupsafe import Markup

from webapp.auth.blueprint import bp
from webapp.auth.current_password import current_password_matches
from webapp.auth.forms import CodeForm, TwoFactorOffForm, TwoFactorOnForm
from webapp.auth.next_url import landing_page, safe_next_url
from webapp.extensions import db
from webapp.login import (
    SECOND_FACTOR,
    keep_this_session,
    mark_second_factor,
    start_session,
)
from webapp.models import User
from webapp.models.types import utcnow
from webapp.observability import events
from webapp.protection.rate_limits import TWO_FACTOR_PENDING, two_factor_per_account
from webapp.rules import totp
from webapp.rules.encryption import SecretUnreadable
from webapp.secret_box import secret_box
from webapp.services import two_factor

PENDING = TWO_FACTOR_PENDING  # signed in by password only, not yet by the second factor
SETUP = "two_factor_setup"  # the secret being set up, encrypted: the session is only signed
PENDING_SECONDS = 300
WRONG_CODE = "That code is not right, or was already used. Try the next one."
CODES_UNCHECKABLE = (
    "Codes from your authenticator app cannot be checked right now; a recovery code still "
    "works. The administrators have been told."
)


def begin_second_step(
    user: User, *, remember: bool, next_url: str | None = None
) -> ResponseReturnValue:
    """After the right password (or for a session that must now show its second factor):
    remember who, for five minutes, and ask for the code."""
    session[PENDING] = {
        "user": user.public_id,
        "version": user.session_version,
        "since": int(time.time()),
        "remember": remember,
    }
    next_url = safe_next_url(next_url or request.args.get("next"))
    return redirect(url_for("auth.two_factor_sign_in", next=next_url))


def pending_user() -> User | None:
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or time.time() - pending.get("since", 0) > PENDING_SECONDS:
        return None
    user = db.session.scalar(db.select(User).filter_by(public_id=pending.get("user")))
    if user is None or not user.is_active or user.session_version != pending.get("version"):
        return None
    return user if user.has_two_factor else None


@bp.route("/login/two-factor", methods=["GET", "POST"])
@two_factor_per_account
def two_factor_sign_in() -> ResponseReturnValue:
    next_url = safe_next_url(request.args.get("next"))
    user = pending_user()
    if user is None:
        session.pop(PENDING, None)
        flash("Sign in again: the second step waits five minutes at most.")
        return redirect(url_for("auth.login", next=next_url))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            kind = two_factor.check_code(user, form.code.data or "")
        except two_factor.WrongCode:
            db.session.rollback()
            events.sign_in_attempt("wrong_code", user.public_id)
            form.code.errors = [WRONG_CODE]
        except SecretUnreadable:
            # The encryption keys were changed without the old one kept (README: rotation).
            db.session.rollback()
            current_app.logger.error(
                "two-factor secret of user %s cannot be decrypted with SECRETS_ENCRYPTION_KEYS",
                user.public_id,
            )
            form.code.errors = [CODES_UNCHECKABLE]
            return render_template("auth/two_factor_sign_in.html", form=form), 503
        else:
            events.sign_in_attempt("success", user.public_id)
            remember = bool(session.pop(PENDING)["remember"])
            user.last_login_at = utcnow()
            db.session.commit()
            start_session(user, remember=remember)
            mark_second_factor()
            if kind == "recovery":
                left = two_factor.remaining_recovery_codes(user)
                flash(f"You used a recovery code; {left} remain.")
            return redirect(next_url or landing_page(user))
    return render_template("auth/two_factor_sign_in.html", form=form)


def qr_code_svg(uri: str) -> Markup:
    """Drawn here as SVG: the secret goes to no outside service, and the page needs no script."""
    svg = segno.make(uri, error="m").svg_inline(scale=5, dark="#000", light="#fff", svgclass="qr")
    return Markup(svg)  # noqa: S704  (segno's own markup of our URI; no text of ours in it)


@bp.route("/account/two-factor", methods=["GET", "POST"])
@login_required
def two_factor_settings() -> ResponseReturnValue:
    user = current_user._get_current_object()
    if user.has_two_factor:
        return two_factor_off(user)
    if SETUP not in session:
        session[SETUP] = secret_box.encrypt(totp.new_secret())
    secret = secret_box.decrypt(session[SETUP])
    form = TwoFactorOnForm()
    if form.validate_on_submit():
        if not current_password_matches(user, form.current_password.data or ""):
            form.current_password.errors = ["That is not your current password."]
        else:
            try:
                codes = two_factor.enable(user, secret, form.code.data or "")
            except two_factor.WrongCode:
                db.session.rollback()
                form.code.errors = [WRONG_CODE]
            else:
                db.session.commit()
                session.pop(SETUP)
                # This session proved the second factor just now; every other one has ended.
                keep_this_session(user)
                mark_second_factor()
                # Shown in the answer to this POST and nowhere else: they exist only here.
                body = render_template("auth/recovery_codes.html", codes=codes)
                return body, 200, {"Cache-Control": "no-store"}
    uri = two_factor.setup_uri(user, secret)
    body = render_template(
        "auth/two_factor_on.html",
        form=form,
        secret=secret,
        qr_code=qr_code_svg(uri),
        required=admin_must_use_two_factor(user),
    )
    return body, 200, {"Cache-Control": "no-store"}


def two_factor_off(user: User) -> ResponseReturnValue:
    form = TwoFactorOffForm()
    if form.validate_on_submit():
        if not current_password_matches(user, form.current_password.data or ""):
            form.current_password.errors = ["That is not your current password."]
        else:
            two_factor.disable(user, actor=user)
            db.session.commit()
            keep_this_session(user)
            session.pop(SECOND_FACTOR, None)
            flash("Two-factor sign-in is off.")
            return redirect(url_for("auth.account"))
    return render_template(
        "auth/two_factor_off.html",
        form=form,
        recovery_codes_left=two_factor.remaining_recovery_codes(user),
        required=admin_must_use_two_factor(user),
    )


def admin_must_use_two_factor(user: User) -> bool:
    return bool(user.is_admin and current_app.config["ADMIN_TWO_FACTOR"] == "required")
