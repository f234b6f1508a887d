"""How a session or remember-me cookie becomes a user, and what happens when there is none."""

import time
from datetime import timedelta

from flask import Flask, current_app, jsonify, redirect, request, session
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_url, login_user, logout_user, user_loaded_from_cookie

from webapp.api import token_request
from webapp.api.token_request import is_token_request, token_visitor
from webapp.errors import wants_json
from webapp.extensions import db, login_manager
from webapp.models import User
from webapp.models.types import utcnow
from webapp.services.token_reads import TokenVisitor


@login_manager.user_loader
def load_user(login_id: str) -> User | TokenVisitor | None:
    """The token endpoint reads the user together with the project, and reuses that read
    for up to a second (token_request)."""
    user: User | TokenVisitor | None
    if is_token_request():
        user = token_visitor(login_id)
    else:
        public_id = login_id.partition(":")[0]
        user = db.session.scalar(db.select(User).filter_by(public_id=public_id))
    return user if signs_in(user, login_id, longest_sign_in(current_app)) else None


def longest_sign_in(app: Flask) -> float:
    """Seconds a sign-in lasts, the remember-me cookie's included (REMEMBER_COOKIE_DURATION,
    a timedelta once the settings are checked)."""
    duration: timedelta = app.config["REMEMBER_COOKIE_DURATION"]
    return duration.total_seconds()


def signs_in(user: User | TokenVisitor | None, login_id: str, longest: float) -> bool:
    """The login id is `public_id:session_version:signed_in_at` (User.get_id); a stale
    version, a sign-in older than `longest` seconds (REMEMBER_COOKIE_DURATION, see
    `longest_sign_in`) or a disabled account ends the session on its next request. The
    remember-me cookie is this id under Flask-Login's MAC, so its issue time is signed; the
    session cookie's own age is bounded by its signature (PERMANENT_SESSION_LIFETIME)."""
    parts = login_id.split(":")
    if user is None or len(parts) != 3 or not parts[2].isdigit():
        return False
    return (
        user.is_active
        and parts[1] == str(user.session_version)
        and time.time() - int(parts[2]) < longest
    )


def start_session(user: User, *, remember: bool = False) -> None:
    """Sign in on a fresh session: nothing from before, such as a CSRF token someone read
    from the anonymous sign-in page, carries over into the signed-in one."""
    session.clear()
    login_user(user, remember=remember)


# In the session: it presented a second factor (at sign-in, or by turning two-factor on).
SECOND_FACTOR = "second_factor"
# In the session: the single sign-on provider checked a second factor (webapp.auth.sso).
PROVIDER_SECOND_FACTOR = "provider_second_factor"


def mark_second_factor() -> None:
    session[SECOND_FACTOR] = True


def presented_second_factor() -> bool:
    """This session, not merely the account, proved a second factor; an account that turned
    it on elsewhere ended this session's version anyway. A provider that says it checked one
    (its `amr`) counts too, with or without a TOTP secret here."""
    if session.get(PROVIDER_SECOND_FACTOR):
        return True
    return bool(session.get(SECOND_FACTOR)) and bool(current_user.has_two_factor)


def keep_this_session(user: User) -> None:
    """After the account's session version changed (a new password, a second factor turned
    on or off): every other session and remember-me cookie has ended, this one carries on
    under the new version, remembered if it was."""
    remembered = current_app.config["REMEMBER_COOKIE_NAME"] in request.cookies
    login_user(user, remember=remembered)


def end_session() -> None:
    """Sign out for good: the session and remember-me cookies just used stop working even
    if a copy is kept. The login id carries only a per-user version, so this ends the user's
    other sessions too; per-session revocation would need server-side session state."""
    if current_user.is_authenticated:
        current_user.end_sessions()
        db.session.commit()
    session.clear()
    logout_user()  # after the clear: it asks for the remember-me cookie to be deleted


def signed_in_by_cookie(_app: Flask, user: User | TokenVisitor) -> None:
    """A remember-me cookie starting a session is a sign-in: "Last sign-in" says so. (On the
    token endpoint the user is a TokenVisitor, so the row is written by its public id.)"""
    db.session.execute(
        db.update(User).filter_by(public_id=user.public_id).values(last_login_at=utcnow())
    )
    db.session.commit()


@login_manager.unauthorized_handler
def unauthorized() -> ResponseReturnValue:
    """Scripts get a 401 in JSON; people are sent to sign in and brought back."""
    if wants_json():
        return jsonify(success=False, error="Sign in first."), 401
    return redirect(login_url("auth.login", next_url=request.full_path.rstrip("?")))


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    token_request.init_app(app)
    user_loaded_from_cookie.connect(signed_in_by_cookie, app)
    # Flask-Login's "basic" protection only marks a session not fresh when the address or
    # browser changes, and nothing here asks for a fresh sign-in; so it would only rewrite
    # the cookie. Sessions end by their version instead (end_session, disabling).
    login_manager.session_protection = None
