"""An admin opens a project's integration page from its form, reads the origin verdicts, and
copies the snippet with the page's copy button."""

import base64
import json
import re

import pytest
from helpers import HOW_TO_ENABLE, PASSWORD

expect = pytest.importorskip("playwright.sync_api", reason=HOW_TO_ENABLE).expect
pytestmark = pytest.mark.browser


def test_integration_page(page, live_server, make_project, make_user, screenshot):
    same_site = "http://127.0.0.1:3000"
    make_project(
        "shop",
        name="Shop assistant",
        allowed_origins=[same_site, "https://shop.example.com", "http://www.example.org"],
    )
    admin = make_user("admin@example.com", is_admin=True)
    page.goto("/login")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)

    page.goto("/admin/projects/shop")
    warnings = page.locator("#origin-warnings")
    expect(warnings.locator("[data-origin]")).to_have_count(2)
    expect(warnings).to_contain_text("https://shop.example.com")
    expect(warnings).not_to_contain_text(same_site)
    screenshot(page, "admin-project-origin-warnings")
    page.get_by_role("link", name="Integration", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Connect a website: Shop assistant")
    # The live server's development PUBLIC_URL is the default one, not the server's own port.
    token_url = page.locator("#token-url").inner_text()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/auth/authorize/shop", token_url)
    verdicts = page.locator("#allowed-origins")
    expect(verdicts.locator(f'[data-origin="{same_site}"] .badge')).to_have_text("Works")
    # The live server runs on loopback in development: a public website's verdict is what
    # production will do, not a red box.
    expect(verdicts.locator('[data-origin="https://shop.example.com"] .badge')).to_have_text(
        "In production: works if the issuer is on example.com"
    )
    plain = verdicts.locator('[data-origin="http://www.example.org"]')
    expect(plain.locator(".badge")).to_have_text("Needs HTTPS")
    expect(plain.get_by_text("Plain http://")).to_be_hidden()  # the details, one click away
    plain.get_by_text("Why").click()
    expect(plain.get_by_text(re.compile("Plain http://"))).to_be_visible()
    screenshot(page, "admin-project-integration")

    snippet = page.locator("#snippet-api-key")
    snippet.locator("xpath=..").get_by_role("button", name="Copy").click()
    expect(snippet.locator("xpath=..").get_by_role("button", name="Copied")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == snippet.inner_text()
    [key] = re.findall(r'apiKey: "([^"]+)"', copied)
    assert json.loads(base64.b64decode(key)) == {"authServer": token_url}
