"""How long a sign-in lasts: the session cookie for PERMANENT_SESSION_LIFETIME after it was
written, the remember-me cookie for REMEMBER_COOKIE_DURATION from the sign-in it carries."""

import time
import types
from datetime import timedelta

import itsdangerous.timed
import pytest
from helpers import PASSWORD, Forms

from webapp import login as login_module
from webapp.config import ConfigError
from webapp.extensions import db
from webapp.models import User
from webapp.models import user as user_module

DAY = 24 * 3600


@pytest.fixture
def clock(monkeypatch):
    """The clock of sign-ins, login ids and cookie signatures; tests move it."""
    now = types.SimpleNamespace(at=time.time())
    fake = types.SimpleNamespace(time=lambda: now.at)
    for module in (login_module, user_module, itsdangerous.timed):
        monkeypatch.setattr(module, "time", fake)
    return now


def remembered_sign_in(app, user: User) -> tuple[str, str]:
    forms = Forms(app.test_client())
    data = {"email": user.email, "password": PASSWORD, "remember": "y"}
    assert forms.post("/login", data).status_code == 302
    client = forms.client
    return client.get_cookie("session").value, client.get_cookie("remember_token").value


def signed_in_with(app, name: str, value: str) -> bool:
    client = app.test_client()
    client.set_cookie(name, value)
    return client.get("/account").status_code == 200


def test_a_remember_me_cookie_expires_on_the_server(app, user, clock):
    _, remember = remembered_sign_in(app, user)
    clock.at += 29 * DAY
    assert signed_in_with(app, "remember_token", remember)
    clock.at += 1 * DAY + 1
    assert not signed_in_with(app, "remember_token", remember)


def test_the_remember_me_cookies_issue_time_is_signed(app, user, clock):
    _, remember = remembered_sign_in(app, user)
    login_id, _, mac = remember.partition("|")
    public_id, version, issued = login_id.split(":")
    forged = f"{public_id}:{version}:{int(issued) + 20 * DAY}|{mac}"
    clock.at += 31 * DAY
    assert not signed_in_with(app, "remember_token", forged)


def test_the_remember_me_duration_is_a_setting(make_app, user, clock):
    app = make_app(REMEMBER_COOKIE_DURATION=3600)
    _, remember = remembered_sign_in(app, user)
    clock.at += 3601
    assert not signed_in_with(app, "remember_token", remember)


def test_a_session_cookie_lasts_the_session_length(make_app, user, make_project, clock):
    app = make_app(PERMANENT_SESSION_LIFETIME=3600)
    make_project("demo")
    session, _ = remembered_sign_in(app, user)
    clock.at += 3500
    assert signed_in_with(app, "session", session)
    clock.at += 101
    assert not signed_in_with(app, "session", session)
    client = app.test_client()  # the token endpoint's fast path reads it alike
    client.set_cookie("session", session)
    assert client.get("/auth/authorize/demo").status_code == 401


def test_the_session_length_defaults_to_12_hours(app):
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=12)
    assert app.config["REMEMBER_COOKIE_DURATION"] == timedelta(days=30)


@pytest.mark.parametrize("value", ["abc", 0, -5, True, 10**12])
def test_a_bad_session_length_stops_the_start(make_app, value):
    with pytest.raises(ConfigError, match="PERMANENT_SESSION_LIFETIME must be a number"):
        make_app(PERMANENT_SESSION_LIFETIME=value)


def test_a_session_length_from_the_environment_is_seconds(make_app, monkeypatch):
    monkeypatch.setenv("FLASK_PERMANENT_SESSION_LIFETIME", "7200")
    monkeypatch.setenv("FLASK_REMEMBER_COOKIE_DURATION", "86400")
    app = make_app()
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=2)
    assert app.config["REMEMBER_COOKIE_DURATION"] == timedelta(days=1)


def test_signing_in_by_the_remember_me_cookie_sets_last_sign_in(app, user, clock):
    """Issue 19: "Last sign-in" is every sign-in, the remember-me cookie's included."""
    _, remember = remembered_sign_in(app, user)
    with app.app_context():
        first = db.session.get(User, user.id).last_login_at
    assert first is not None
    time.sleep(0.01)  # the stored time is the real clock's
    assert signed_in_with(app, "remember_token", remember)
    with app.app_context():
        assert db.session.get(User, user.id).last_login_at > first
