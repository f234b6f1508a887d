"""Admins sign in with the deployment's OpenID Connect provider: a real oidc-provider, its
real authorization and token endpoints, Chromium clicking through its sign-in page."""

import threading

import pyotp
import pytest
from helpers import HOW_TO_ENABLE, app_settings, delete_all_rows
from identity_provider import Client, IdentityProvider, free_port
from werkzeug.serving import make_server

from webapp import create_app
from webapp.extensions import db
from webapp.models import User
from webapp.secret_box import secret_box

expect = pytest.importorskip("playwright.sync_api", reason=HOW_TO_ENABLE).expect
pytestmark = pytest.mark.browser

ACCOUNTS = {
    # The provider checked a second factor itself (RFC 8176 `amr`).
    "ana": {"email": "ana@example.com", "email_verified": True, "amr": ["pwd", "mfa"]},
    "ben": {"email": "ben@example.com", "email_verified": True, "amr": ["pwd"]},
    "cleo": {"email": "cleo@example.com", "email_verified": True, "locale": "it-IT"},
    "dan": {"email": "dan@example.com", "email_verified": False},
}


@pytest.fixture
def sso(database_url, tmp_path, oidc_provider_folder):
    """The app with single sign-on through a real provider, served on 127.0.0.1."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    client = Client("admin-ui", redirect_uris=[f"{base}/login/sso/callback"])
    provider = IdentityProvider(oidc_provider_folder, tmp_path, [client], ACCOUNTS).start()
    app = create_app(
        app_settings(
            database_url,
            PUBLIC_URL=base,
            ADMIN_TWO_FACTOR="required",
            SSO_ISSUER=provider.issuer,
            SSO_CLIENT_ID=client.client_id,
            SSO_CLIENT_SECRET=client.client_secret,
            SSO_NAME="Example Corp",
        ),
        instance_path=str(tmp_path / "instance"),
    )
    server = make_server("127.0.0.1", port, app, threaded=True)
    # Request threads are joined on close: one still answering the browser (a favicon, say)
    # would otherwise hold a database connection past the engine's disposal.
    server.daemon_threads = False
    thread = threading.Thread(target=server.serve_forever, name="sso-server")
    thread.start()
    try:
        yield app, base
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
        provider.stop()
        delete_all_rows(database_url)
        with app.app_context():
            db.engine.dispose()
        app.extensions["token_reads"].dispose()


def add_user(app, email: str, **fields) -> None:
    with app.app_context():
        user = User(email=email, locale="en-US", **fields)
        user.set_password("a long enough password, surely")
        db.session.add(user)
        db.session.commit()


def sign_in_with_provider(page, base: str, login: str, then: str = "/admin/") -> None:
    page.goto(f"{base}/login?next={then}")
    page.get_by_role("link", name="Sign in with Example Corp").click()
    page.locator("input[name=login]").fill(login)  # the provider's own sign-in page
    page.locator("input[name=password]").fill("anything")
    page.get_by_role("button", name="Sign-in").click()


def test_an_admin_whose_provider_checked_a_second_factor_reaches_the_admin_pages(browser, sso):
    app, base = sso
    add_user(app, "ana@example.com", is_admin=True)
    page = browser.new_page()
    sign_in_with_provider(page, base, "ana")
    expect(page).to_have_url(f"{base}/admin/")
    expect(page.locator("nav").first).to_contain_text("ana@example.com")
    page.close()


def test_without_the_providers_second_factor_the_totp_step_follows(browser, sso):
    app, base = sso
    secret = pyotp.random_base32()
    with app.app_context():
        add_user(app, "ben@example.com", is_admin=True)
        user = User.by_email("ben@example.com")
        user.totp_secret_encrypted = secret_box.encrypt(secret)
        db.session.commit()
    page = browser.new_page()
    sign_in_with_provider(page, base, "ben")
    expect(page).to_have_url(f"{base}/login/two-factor?next=/admin/")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(f"{base}/admin/")
    page.close()


def test_a_new_visitor_becomes_an_end_user_never_an_admin(browser, sso):
    app, base = sso
    page = browser.new_page()
    sign_in_with_provider(page, base, "cleo", then="/")
    expect(page.get_by_role("navigation")).to_contain_text("cleo@example.com")
    with app.app_context():
        user = User.by_email("cleo@example.com")
        assert (user.is_admin, user.locale) == (False, "it-IT")
    page.goto(f"{base}/admin/")
    expect(page.get_by_text("This page is for administrators.")).to_be_visible()
    page.close()


def test_an_unverified_email_signs_nobody_in(browser, sso):
    app, base = sso
    add_user(app, "dan@example.com", is_admin=True)
    page = browser.new_page()
    sign_in_with_provider(page, base, "dan")
    expect(page).to_have_url(f"{base}/login")
    expect(page.get_by_text("Example Corp did not confirm an e-mail address")).to_be_visible()
    page.close()
