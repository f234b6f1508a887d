"""The usage figures in Chromium: the dashboard's charts and a project's usage page, at a
desktop's width and a phone's, drawn within the CSP and with their numbers in tables."""

import time
from collections import Counter

import pytest
from helpers import HOW_TO_ENABLE, PASSWORD

from webapp.observability.usage import ISSUED, SIGN_INS, TOKENS
from webapp.services import usage

expect = pytest.importorskip("playwright.sync_api", reason=HOW_TO_ENABLE).expect
pytestmark = pytest.mark.browser

WIDTHS = (1280, 360)


def a_week_of_usage() -> Counter:
    """Office hours busier than nights, a few visitors not signed in, one bad afternoon."""
    now = int(time.time())
    this_hour = now - now % 3600
    batch: Counter = Counter()
    for hours_ago in range(7 * 24):
        hour = this_hour - hours_ago * 3600
        busy = 9 <= time.gmtime(hour).tm_hour <= 17
        batch[(TOKENS, hour, "pilot", ISSUED)] = (40 if busy else 6) + hours_ago % 7
        batch[(TOKENS, hour, "pilot", "not_signed_in")] = hours_ago % 3
        batch[(TOKENS, hour, "shop", ISSUED)] = 2 if busy else 0
        batch[(SIGN_INS, hour, "", "success")] = 5 if busy else 1
        batch[(SIGN_INS, hour, "", "wrong_password")] = hours_ago % 2
    for hours_ago in (26, 27, 28):
        batch[(TOKENS, this_hour - hours_ago * 3600, "pilot", "cannot_sign")] = 12
    return batch


def test_usage_pages_at_desktop_and_phone_widths(
    page, live_server, make_user, make_project, screenshot
):
    admin = make_user("admin@example.com", is_admin=True)
    make_project("pilot", name="Ava – customer support pilot")
    make_project("shop", name="Shop assistant")
    make_project("kiosk", name="Lobby kiosk")
    assert usage.write_for(live_server.app, a_week_of_usage())

    page.goto("/login")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation").first).to_contain_text(admin.email)

    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto("/admin/")
        pilot = page.locator(".usage-card").first
        expect(pilot.get_by_role("heading")).to_have_text("Ava – customer support pilot")
        expect(pilot.get_by_role("img")).to_be_visible()  # the SVG chart, named by its title
        expect(page.locator(".usage-card")).to_have_count(3)
        screenshot(page, f"admin-dashboard-usage-{width}")

        page.goto("/admin/projects/pilot/usage?period=7d")
        expect(page.get_by_role("heading", name="Refusals by reason")).to_be_visible()
        expect(page.get_by_role("row", name="Cannot sign").first).to_contain_text("36")
        screenshot(page, f"admin-project-usage-{width}")
        for element in page.locator(".chart, .stats, .table-wrap").all():
            box = element.bounding_box()
            assert box["x"] + box["width"] <= width, "the usage page is wider than the screen"

    page.goto("/admin/projects/pilot/usage?period=24h")
    expect(page.get_by_role("link", name="24 hours")).to_have_attribute("aria-current", "page")
    screenshot(page, "admin-project-usage-24h-360")
