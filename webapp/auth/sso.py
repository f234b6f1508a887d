"""Single sign-on with the deployment's OpenID Connect provider (optional): `/login` offers
"Sign in with <SSO_NAME>" when SSO_ISSUER, SSO_CLIENT_ID and SSO_CLIENT_SECRET are set.

Authlib's Flask client does the protocol: the Authorization Code flow with PKCE (S256), its
`state` and `nonce` kept in the session and checked, the ID token verified against the
provider's published keys. This module only decides who that is here:
- an account is matched by the provider's *verified* e-mail (`email_verified: true`);
  without one, or without a match while registration is closed, nobody is signed in;
- a new end user is created when registration is open; admin rights are never granted here;
- a user with a second factor on gets the TOTP step after the provider, unless the provider
  says it checked one itself (`amr` holds `mfa`, `otp` or `hwk`, RFC 8176); then the session
  records it (login.PROVIDER_SECOND_FACTOR), and ADMIN_TWO_FACTOR=required accepts that session."""

import secrets
from typing import Any

import requests
from authlib.integrations.flask_client import OAuth, OAuthError
from flask import Config, Flask, abort, current_app, flash, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from joserfc.errors import JoseError

from webapp.auth.blueprint import bp
from webapp.auth.next_url import safe_next_url
from webapp.auth.two_factor import begin_second_step
from webapp.config_checks import ConfigError
from webapp.extensions import db
from webapp.login import PROVIDER_SECOND_FACTOR, start_session
from webapp.models import User
from webapp.models.types import utcnow
from webapp.observability import events
from webapp.rules.emails import InvalidEmail, normalise_email
from webapp.rules.identity_providers import discovery_url, fetchable_url
from webapp.rules.locales import best_locale
from webapp.services.users import EmailTaken, InvalidAccount, create_user

SETTINGS = ("SSO_ISSUER", "SSO_CLIENT_ID", "SSO_CLIENT_SECRET")
# RFC 8176 methods that are, or include, a second factor.
SECOND_FACTOR_METHODS = frozenset({"mfa", "otp", "hwk"})
NEXT = "sso_next"


def sso_enabled() -> bool:
    return bool(current_app.config["SSO_ISSUER"])


def provider() -> Any:
    """This app's Authlib client (one per app: the suite builds many, each with its settings)."""
    return current_app.extensions["sso_oauth"].sso


def check_sso_settings(config: Config) -> None:
    given = [name for name in SETTINGS if config[name]]
    if given and len(given) < len(SETTINGS):
        missing = ", ".join(name for name in SETTINGS if name not in given)
        raise ConfigError(f"Single sign-on needs {', '.join(SETTINGS)}; missing {missing}")
    if given and not fetchable_url(config["SSO_ISSUER"]):
        raise ConfigError("SSO_ISSUER must be an https:// URL (http:// only on this machine)")
    if not isinstance(config["SSO_NAME"], str) or not config["SSO_NAME"].strip():
        raise ConfigError("SSO_NAME must be the provider's name, as users know it")


def callback_url() -> str:
    """What the provider redirects to; registered with it as the client's redirect URI."""
    public_url = current_app.config["PUBLIC_URL"]
    if public_url:
        return f"{public_url}{url_for('auth.sso_callback')}"
    return url_for("auth.sso_callback", _external=True)


@bp.get("/login/sso")
def sso_start() -> ResponseReturnValue:
    if not sso_enabled():
        abort(404)
    session[NEXT] = safe_next_url(request.args.get("next"))
    try:
        return provider().authorize_redirect(callback_url())
    except requests.RequestException:
        return refused("cannot be reached right now. Try again, or use your password.")


@bp.get("/login/sso/callback")
def sso_callback() -> ResponseReturnValue:
    if not sso_enabled():
        abort(404)
    try:
        token = provider().authorize_access_token()
    except (OAuthError, JoseError) as error:
        # A wrong or replayed state, a provider's error, an ID token that does not verify.
        current_app.logger.info("single sign-on refused: %s", error.error)
        return refused("did not sign you in. Try again, or use your password.")
    except requests.RequestException as error:
        current_app.logger.warning("single sign-on: the provider cannot be reached: %s", error)
        return refused("cannot be reached right now. Try again, or use your password.")
    return signed_in_as(token.get("userinfo") or {})


def signed_in_as(claims: dict[str, Any]) -> ResponseReturnValue:
    email = claims.get("email")
    if claims.get("email_verified") is not True or not isinstance(email, str):
        return refused("did not confirm an e-mail address for you. Use your password.")
    user = account_for(email, claims.get("locale"))
    if user is None:
        return refused("signed you in, but there is no account here for that address.")
    if not user.is_active:
        events.sign_in_attempt("disabled", user.public_id)
        return refused("signed you in, but this account is disabled. Ask an administrator.")
    amr = claims.get("amr")
    second_factor = isinstance(amr, list) and not SECOND_FACTOR_METHODS.isdisjoint(amr)
    next_url = session.pop(NEXT, None)
    if user.has_two_factor and not second_factor:
        events.sign_in_attempt("second_factor_needed", user.public_id)
        return begin_second_step(user, remember=False, next_url=next_url)
    events.sign_in_attempt("success", user.public_id)
    user.last_login_at = utcnow()
    db.session.commit()
    start_session(user)
    if second_factor:
        session[PROVIDER_SECOND_FACTOR] = True
    return redirect(next_url or url_for("main.index"))


def account_for(email: str, locale: object) -> User | None:
    """The account with this e-mail, or a new end user's when registration is open."""
    try:
        email = normalise_email(email)
    except InvalidEmail:
        return None
    user = User.by_email(email)
    if user is not None or not current_app.config["REGISTRATION_OPEN"]:
        return user
    tags = [locale] if isinstance(locale, str) else []
    try:
        # A random password nobody knows: the account signs in through the provider, or
        # after a password reset.
        user = create_user(
            email,
            secrets.token_urlsafe(32),
            best_locale([*tags, *request.accept_languages.values()]),
            is_admin=False,
            actor="self",
        )
    except (InvalidAccount, EmailTaken):
        db.session.rollback()
        return User.by_email(email)
    db.session.commit()
    return user


def refused(what_happened: str) -> ResponseReturnValue:
    flash(f"{current_app.config['SSO_NAME']} {what_happened}", "error")
    return redirect(url_for("auth.login"))


def sign_in_offer() -> dict[str, Any]:
    """For the sign-in page: the provider's name when single sign-on is on."""
    return {"sso_name": current_app.config["SSO_NAME"] if sso_enabled() else None}


def init_app(app: Flask) -> None:
    check_sso_settings(app.config)
    app.context_processor(sign_in_offer)
    oauth = app.extensions["sso_oauth"] = OAuth(app)
    if app.config["SSO_ISSUER"]:
        oauth.register(
            "sso",
            client_id=app.config["SSO_CLIENT_ID"],
            client_secret=app.config["SSO_CLIENT_SECRET"],
            server_metadata_url=discovery_url(app.config["SSO_ISSUER"]),
            client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256"},
        )
