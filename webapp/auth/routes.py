from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, logout_user
from flask_wtf import FlaskForm

from webapp.auth.blueprint import bp
from webapp.auth.current_password import current_password_matches
from webapp.auth.forms import (
    DeleteAccountForm,
    LocaleForm,
    LoginForm,
    PasswordForm,
    RegisterForm,
)
from webapp.auth.next_url import landing_page, safe_next_url
from webapp.auth.signup import open_account, open_account_by_mail
from webapp.auth.two_factor import begin_second_step
from webapp.extensions import db
from webapp.login import end_session, keep_this_session, start_session
from webapp.mail import mail_configured
from webapp.models import User
from webapp.models.types import utcnow
from webapp.observability import events
from webapp.protection.password_hashing import hash_password, password_matches
from webapp.protection.rate_limits import (
    register_per_address,
    sign_in_per_account,
    sign_in_per_address,
)
from webapp.rules.locales import best_locale, locale_suggestions
from webapp.services.email_confirmation import ConfirmLinkInvalid, confirm, mail_confirmation
from webapp.services.password_reset import password_reset_offered
from webapp.services.users import LastAdmin, delete_account

bp.add_app_template_global(locale_suggestions)

# Checked against when the email is unknown, so a wrong email costs as long as a wrong password.
UNKNOWN_USER_HASH = hash_password("no such user")
SIGN_IN_FAILED = "Wrong email or password."
UNCONFIRMED = (
    "Confirm your email address first: we have mailed you the link again. Follow it, then sign in."
)


def after_sign_in(user: User) -> ResponseReturnValue:
    return redirect(safe_next_url(request.args.get("next")) or landing_page(user))


@bp.route("/register", methods=["GET", "POST"])
@register_per_address
def register() -> ResponseReturnValue:
    if not current_app.config["REGISTRATION_OPEN"]:
        abort(404)
    form = RegisterForm()
    if request.method == "GET":
        form.locale.data = best_locale(request.accept_languages.values())
    if form.validate_on_submit():
        if mail_configured():
            done = open_account_by_mail(form)
        else:
            welcome = "Welcome! Your account is ready."
            done = open_account(form, is_admin=False, welcome=welcome, then=url_for("main.index"))
        if done:
            return done
    return render_template("auth/register.html", form=form)


@bp.get("/register/sent")
def register_sent() -> ResponseReturnValue:
    if not current_app.config["REGISTRATION_OPEN"]:
        abort(404)
    return render_template("auth/register_sent.html")


@bp.get("/register/confirm/<token>")
def confirm_email(token: str) -> ResponseReturnValue:
    try:
        confirm(token)
    except ConfirmLinkInvalid:
        body = render_template("auth/confirm_link_invalid.html")
        return body, 400, {"Referrer-Policy": "no-referrer"}
    db.session.commit()
    flash("Your address is confirmed. Sign in.")
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
@sign_in_per_address
@sign_in_per_account
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return after_sign_in(current_user)
    form = LoginForm()
    if form.validate_on_submit():
        password = form.password.data or ""
        user = User.by_email(form.email.data or "")
        if user is None:
            password_matches(UNKNOWN_USER_HASH, password)
            events.sign_in_attempt("unknown_email")
            form.form_errors.append(SIGN_IN_FAILED)
        elif not user.check_password(password):
            events.sign_in_attempt("wrong_password", user.public_id)
            form.form_errors.append(SIGN_IN_FAILED)
        elif not user.is_active:
            events.sign_in_attempt("disabled", user.public_id)
            form.form_errors.append("This account is disabled. Ask an administrator.")
        elif not user.email_confirmed:
            events.sign_in_attempt("unconfirmed", user.public_id)
            mail_confirmation(user.public_id)
            form.form_errors.append(UNCONFIRMED)
        elif user.has_two_factor:
            events.sign_in_attempt("second_factor_needed", user.public_id)
            return begin_second_step(user, remember=bool(form.remember.data))
        else:
            events.sign_in_attempt("success", user.public_id)
            user.last_login_at = utcnow()
            db.session.commit()
            start_session(user, remember=form.remember.data)
            return after_sign_in(user)
    return render_template("auth/login.html", form=form, can_reset=password_reset_offered())


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    end_session()
    flash("You are signed out.")
    return redirect(url_for("auth.login"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account() -> ResponseReturnValue:
    locale_form = LocaleForm(prefix="locale", obj=current_user)
    password_form = PasswordForm(prefix="password", account_email=current_user.email)
    if locale_form.submit.data and locale_form.validate_on_submit():
        current_user.locale = locale_form.locale.data
        db.session.commit()
        flash(f"Your locale is now {current_user.locale}.")
        return redirect(url_for("auth.account"))
    if password_form.submit.data and password_form.validate_on_submit():
        if not current_password_matches(current_user, password_form.current_password.data or ""):
            password_form.current_password.errors = ["That is not your current password."]
        else:
            user = current_user._get_current_object()
            user.set_password(password_form.new_password.data)
            db.session.commit()
            keep_this_session(user)
            flash("Your password is changed. Your other sessions are signed out.")
            return redirect(url_for("auth.account"))
    return account_page(locale_form=locale_form, password_form=password_form)


def account_page(**forms: FlaskForm) -> str:
    """The account page with each of its forms, fresh unless the caller passes one back."""
    return render_template(
        "auth/account.html",
        locale_form=forms.get("locale_form") or LocaleForm(prefix="locale", obj=current_user),
        password_form=forms.get("password_form")
        or PasswordForm(prefix="password", account_email=current_user.email),
        delete_form=forms.get("delete_form") or DeleteAccountForm(prefix="delete"),
    )


@bp.post("/account/delete")
@login_required
def delete_own_account() -> ResponseReturnValue:
    form = DeleteAccountForm(prefix="delete")
    if form.validate_on_submit():
        user = current_user._get_current_object()
        if not current_password_matches(user, form.current_password.data or ""):
            form.current_password.errors = ["That is not your current password."]
        else:
            try:
                delete_account(user)
                db.session.commit()
            except LastAdmin as refusal:
                db.session.rollback()
                form.current_password.errors = [str(refusal)]
            else:
                # Not end_session: there is no row left whose session version could change.
                session.clear()
                logout_user()
                flash(
                    "Your account is deleted. Tokens issued to it before now stay valid "
                    "until they expire."
                )
                return redirect(url_for("auth.login"))
    return account_page(delete_form=form), 400
