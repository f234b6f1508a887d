"""An end user signs up, picks a locale and gets a token, using the pages as a person would."""

import json

import jwt
import pytest
from helpers import HOW_TO_ENABLE, HS256_KEY, PASSWORD

expect = pytest.importorskip("playwright.sync_api", reason=HOW_TO_ENABLE).expect
pytestmark = pytest.mark.browser


def test_sign_up_and_get_a_token_with_my_locale(page, live_server, make_project, screenshot):
    make_project("shop", key=HS256_KEY, algorithm="HS256", allowed_origins=[])

    page.goto("/register")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Locale").fill("de-DE")
    screenshot(page, "end-user-register")
    page.get_by_role("button", name="Create account").click()

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("navigation")).to_contain_text("ada@example.com")
    shop = page.get_by_role("row").filter(has_text="shop")
    screenshot(page, "end-user-projects")
    shop.get_by_role("link", name="Get a token").click()

    page.get_by_role("button", name="Get a token").click()
    shown_claims = page.locator("#token-claims")
    expect(shown_claims).to_be_visible()
    screenshot(page, "end-user-token")
    claims = json.loads(shown_claims.inner_text())
    assert claims["locale"] == "de-DE"
    assert "sm-session-server" in claims
    assert claims["user_id"]

    token = page.locator("#token-jwt").inner_text()
    assert jwt.decode(token, HS256_KEY, algorithms=["HS256"])["locale"] == "de-DE"


def test_wrong_password_is_refused_beside_the_form(page, make_user, screenshot):
    user = make_user("grace@example.com")

    page.goto("/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.locator("form").get_by_role("alert")).to_have_text("Wrong email or password.")
    screenshot(page, "end-user-wrong-password")
