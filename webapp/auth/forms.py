from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Length, ValidationError

from webapp.rules.emails import InvalidEmail, normalise_email
from webapp.rules.locales import InvalidLocale, normalise_locale
from webapp.rules.passwords import MAX_PASSWORD, MIN_PASSWORD, password_problem


def locale_filter(value: str | None) -> str | None:
    """Normalise a submitted tag ('en_us' → 'en-US'); an unknown one is a field error."""
    if value is None:
        return None
    try:
        return normalise_locale(value)
    except InvalidLocale as error:
        raise ValueError(str(error)) from None


class LocaleField(StringField):
    """A locale tag, typed or picked from a searchable list of every locale Babel knows
    (the page's `<datalist>`, common locales first); checked here whatever was sent."""

    def __init__(self, label: str = "Locale", **kwargs: Any) -> None:
        super().__init__(
            label,
            [DataRequired(message="Choose a locale.")],
            filters=[locale_filter],
            render_kw={
                "list": "locale-options",
                "autocomplete": "off",
                "spellcheck": "false",
                "placeholder": "Type a language or a tag, e.g. en-US",
            },
            **kwargs,
        )


def deliverable_address(_form: FlaskForm, field: EmailField) -> None:
    """The same check and spelling the accounts are stored by."""
    try:
        normalise_email(field.data or "")
    except InvalidEmail as error:
        raise ValidationError(f"Invalid email address. {error}") from None


def email_field(label: str = "Email") -> EmailField:
    return EmailField(
        label,
        validators=[DataRequired(), Length(max=254), deliverable_address],
        render_kw={"autocomplete": "email"},
    )


def acceptable_password(form: FlaskForm, field: PasswordField) -> None:
    """The account's email is the form's Email field, or, on the account page, the user's."""
    email = form["email"].data if "email" in form else getattr(form, "account_email", "")
    if message := password_problem(field.data or "", email or ""):
        raise ValidationError(message)


def new_password_field(label: str = "Password") -> PasswordField:
    return PasswordField(
        label,
        validators=[DataRequired(), acceptable_password],
        render_kw={"autocomplete": "new-password", "minlength": MIN_PASSWORD},
    )


class RegisterForm(FlaskForm):
    email = email_field()
    password = new_password_field()
    locale = LocaleField()
    submit = SubmitField("Create account")


def current_password_field(label: str = "Password") -> PasswordField:
    return PasswordField(
        label,
        validators=[DataRequired(), Length(max=MAX_PASSWORD)],
        render_kw={"autocomplete": "current-password"},
    )


class LoginForm(FlaskForm):
    email = email_field()
    password = current_password_field()
    remember = BooleanField("Remember me")
    submit = SubmitField("Sign in")


class LocaleForm(FlaskForm):
    locale = LocaleField()
    submit = SubmitField("Save locale")


class PasswordForm(FlaskForm):
    current_password = current_password_field("Current password")
    new_password = new_password_field("New password")
    submit = SubmitField("Change password")

    def __init__(self, *args: Any, account_email: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.account_email = account_email


class ForgotPasswordForm(FlaskForm):
    email = email_field()
    submit = SubmitField("Send reset link")


class ResetPasswordForm(FlaskForm):
    new_password = new_password_field("New password")
    submit = SubmitField("Set new password")

    def __init__(self, *args: Any, account_email: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.account_email = account_email


class CodeForm(FlaskForm):
    """A TOTP code from an authenticator app, or one of the recovery codes."""

    code = StringField(
        "Code",
        validators=[DataRequired(message="Enter the code."), Length(max=32)],
        render_kw={"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"},
    )
    submit = SubmitField("Verify")


class TwoFactorOnForm(CodeForm):
    """Turning it on asks for the password too: a session left open must not be enough."""

    current_password = current_password_field("Current password")


class TwoFactorOffForm(FlaskForm):
    current_password = current_password_field("Current password")
    submit = SubmitField("Turn off two-factor")


class DeleteAccountForm(FlaskForm):
    current_password = current_password_field("Current password")
    submit = SubmitField("Delete account")
