"""Single sign-on's settings and refusals; the whole flow runs in Chromium against a real
provider in tests/browser/test_single_sign_on.py."""

import socket

import pytest
from helpers import app_settings

from webapp import create_app
from webapp.config import ConfigError


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sso_settings(issuer: str) -> dict:
    return {
        "SSO_ISSUER": issuer,
        "SSO_CLIENT_ID": "admin-ui",
        "SSO_CLIENT_SECRET": "s3cret",
        "SSO_NAME": "Example Corp",
    }


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"SSO_ISSUER": "https://idp.example.com"}, "missing SSO_CLIENT_ID, SSO_CLIENT_SECRET"),
        ({**sso_settings("http://idp.example.com")}, "SSO_ISSUER must be an https:// URL"),
        ({**sso_settings("https://idp.example.com"), "SSO_NAME": " "}, "SSO_NAME"),
    ],
)
def test_settings_are_checked_at_start(database_url, tmp_path, settings, words):
    with pytest.raises(ConfigError, match=words):
        create_app(app_settings(database_url, **settings), instance_path=str(tmp_path))


def test_off_by_default(client):
    assert "Sign in with" not in client.get("/login").get_data(as_text=True)
    assert client.get("/login/sso").status_code == 404
    assert client.get("/login/sso/callback?code=x&state=y").status_code == 404


def test_the_sign_in_page_offers_the_provider(make_app):
    client = make_app(**sso_settings("https://idp.example.com")).test_client()
    page = client.get("/login?next=/admin/").get_data(as_text=True)
    assert 'href="/login/sso?next=/admin/">Sign in with Example Corp</a>' in page


def test_a_provider_that_cannot_be_reached_is_a_message_not_an_error(make_app):
    app = make_app(**sso_settings(f"http://127.0.0.1:{closed_port()}"))
    client = app.test_client()
    response = client.get("/login/sso")
    assert response.status_code == 302 and response.location == "/login"
    page = client.get("/login").get_data(as_text=True)
    assert "Example Corp cannot be reached right now" in page


def test_a_callback_without_a_matching_state_signs_nobody_in(make_app):
    app = make_app(**sso_settings("https://idp.example.com"))
    client = app.test_client()
    response = client.get("/login/sso/callback?code=stolen&state=guessed")
    assert response.status_code == 302 and response.location == "/login"
    assert "Example Corp did not sign you in" in client.get("/login").get_data(as_text=True)
    assert client.get("/account").status_code == 302  # still signed out
