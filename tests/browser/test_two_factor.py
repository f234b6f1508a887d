"""Two-factor sign-in in Chromium: turn it on from the account page, then sign in with it."""

import time
from pathlib import Path

import pyotp
import pytest
from helpers import HOW_TO_ENABLE, PASSWORD

expect = pytest.importorskip("playwright.sync_api", reason=HOW_TO_ENABLE).expect
pytestmark = pytest.mark.browser


def sign_in_with_password(page, email):
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_turn_on_two_factor_then_sign_in_with_a_code(page, live_server, make_user, screenshot):
    user = make_user("ada@example.com")
    page.goto("/login")
    sign_in_with_password(page, user.email)

    page.goto("/account")
    page.get_by_role("link", name="Turn on two-factor sign-in").click()
    expect(page.locator("figure.qr-code svg")).to_be_visible()
    secret = page.locator("[data-totp-secret]").inner_text()
    screenshot(page, "two-factor-setup")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator(".recovery-codes li")).to_have_count(10)
    shown = page.locator(".recovery-codes li").all_inner_texts()
    screenshot(page, "two-factor-recovery-codes")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()").split() == shown
    with page.expect_download() as download:
        page.get_by_role("link", name="Download").click()
    assert download.value.suggested_filename == "recovery-codes.txt"
    assert Path(download.value.path()).read_text().split() == shown

    page.get_by_role("button", name="Sign out").click()
    page.goto("/account")  # signed out: sent to sign in, and brought back after both steps
    sign_in_with_password(page, user.email)
    expect(page).to_have_url(f"{live_server.url}/login/two-factor?next=/account")
    expect(page.get_by_role("navigation")).not_to_contain_text(user.email)  # not signed in yet

    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Verify").click()
    expect(page.locator(".field .error")).to_contain_text("That code is not right")
    screenshot(page, "two-factor-sign-in-wrong-code")

    # The setup used the current step; the next one's code is fresh and within the window.
    page.get_by_label("Code").fill(pyotp.TOTP(secret).at(time.time() + 30))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(f"{live_server.url}/account")
    expect(page.get_by_role("navigation")).to_contain_text(user.email)
    expect(page.get_by_role("heading", name="Two-factor sign-in")).to_be_visible()
    screenshot(page, "two-factor-signed-in")
