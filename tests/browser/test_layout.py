"""Every page at 1280 and at 360 px wide, as an admin and as an end user, in Chromium: none
wider than the screen, and not one axe-core violation of WCAG 2.2 level A or AA. The pages
that most need looking at are saved as screenshots at both widths."""

import re

import pytest
from flask import url_for
from helpers import HOW_TO_ENABLE, HS256_KEY, PASSWORD

from browser.axe import install_axe, violations
from webapp.extensions import db
from webapp.models import Project, User
from webapp.services.projects import save_project
from webapp.services.users import set_flag

expect = pytest.importorskip("playwright.sync_api", reason=HOW_TO_ENABLE).expect
pytestmark = pytest.mark.browser

WIDTHS = (1280, 360)
# Routes that answer JSON, text or a redirect only; every other GET route is a page.
NOT_PAGES = {
    "static",
    "api.authorize",
    "api.openapi",
    "ops.ping",
    "ops.healthz",
    "metrics.metrics_page",
    "setup.setup",  # 404 once an admin exists; tests/browser/test_admin.py walks it
    "auth.two_factor_sign_in",  # redirects unless half signed in
}
# What each page is called in the screenshots' names, when it is kept.
SCREENSHOTS = {
    "admin.dashboard": "dashboard",
    "admin.audit": "audit",
    "admin.project_integration": "integration",
    "admin.users": "users",
    "admin.edit_project": "project-form",
    "admin.preview_project": "preview",
}
OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"
# The innermost elements that reach past the screen's right edge, to say what to fix.
TOO_WIDE = """() => {
  const past = (e) => e.getBoundingClientRect().right > window.innerWidth + 0.5;
  return [...document.querySelectorAll("body *")]
    .filter((e) => e.checkVisibility() && past(e) && !e.closest(".subnav, .tabs, pre"))
    .filter((e) => ![...e.children].some(past))
    .slice(0, 3)
    .map((e) => `${e.tagName.toLowerCase()} "${e.textContent.trim().slice(0, 30)}"`);
}"""


def page_paths(app, slug: str) -> dict[str, str]:
    with app.test_request_context():
        return {
            rule.endpoint: url_for(rule.endpoint, **dict.fromkeys(rule.arguments, slug))
            for rule in app.url_map.iter_rules()
            if "GET" in rule.methods and rule.endpoint not in NOT_PAGES
        }


def sample_data(app, make_user, make_project) -> User:
    """An admin, an end user and a project with a history: created, then its origins and
    name changed, so the audit trail shows a summary, items added and text as written."""
    admin = make_user("admin.with.a.rather.long.address@example.com", is_admin=True)
    user = make_user("ada@example.com", locale="de-DE")
    make_project("kiosk", key=HS256_KEY)
    with app.app_context():
        actor = db.session.get(User, admin.id)
        project = Project()
        values = {
            "name": "Ava – Customer Support",
            "slug": "demo",
            "session_server": "dh.soulmachines.cloud",
            "issuer": "sm-abcdef123456789",
            "environment": "development",
            "allowed_origins": ["http://127.0.0.1:3000", "https://shop.example.com"],
            "custom_claims": {"tier": 2},
        }
        save_project(project, values, new_key=HS256_KEY, actor=actor)
        db.session.commit()
        changed = {
            "allowed_origins": [*values["allowed_origins"], "http://www.example.org"],
            "custom_claims": {"tier": 3, "team": "Zoë’s"},
        }
        save_project(project, changed, new_key=None, actor=actor)
        set_flag(db.session.get(User, user.id), "is_admin", True, actor)
        set_flag(db.session.get(User, user.id), "is_admin", False, actor)
        db.session.commit()
    return user, admin


def sign_in(page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("header a.who")).to_have_text(email)  # in the menu, closed on a phone


def check(page, path: str, width: int, axe_script: str, problems: list[str]) -> None:
    response = page.goto(path)
    if "text/html" not in response.headers.get("content-type", ""):
        return
    overflow = page.evaluate(OVERFLOW)
    if overflow > 0:
        too_wide = ", ".join(page.evaluate(TOO_WIDE))
        problems.append(f"{path} at {width} px is {overflow} px wider than the screen: {too_wide}")
    for violation in violations(page, axe_script):
        problems.append(f"{path} at {width} px: {violation}")


@pytest.fixture
def axe_page(browser, live_server):
    """A page whose context ignores the CSP, so that axe-core can be injected."""
    context = browser.new_context(base_url=live_server.url, bypass_csp=True)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_every_page_fits_and_passes_axe(axe_page, live_server, make_user, make_project, screenshot):
    axe_script = install_axe().read_text()
    app = live_server.app
    user, admin = sample_data(app, make_user, make_project)
    paths = page_paths(app, "demo")
    problems: list[str] = []
    page = axe_page

    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.context.clear_cookies()
        for path in ("/login", "/register", "/forgot-password"):
            check(page, path, width, axe_script, problems)

        sign_in(page, user.email)
        for endpoint, path in sorted(paths.items()):
            if not endpoint.startswith("admin."):
                check(page, path, width, axe_script, problems)

        page.context.clear_cookies()
        sign_in(page, admin.email)
        for endpoint, path in sorted(paths.items()):
            check(page, path, width, axe_script, problems)
            if endpoint in SCREENSHOTS:
                screenshot(page, f"layout-{SCREENSHOTS[endpoint]}-{width}")
        for path in ("/admin/audit?project=demo", "/admin/projects/new"):
            check(page, path, width, axe_script, problems)
        # The users page with a confirmation open, and the project form refused.
        check(page, "/admin/users", width, axe_script, problems)
        row = page.get_by_role("row").filter(has_text=user.email)
        row.get_by_text("Disable…").click()
        expect(row.get_by_role("button", name="Disable", exact=True)).to_be_visible()
        problems += [
            f"/admin/users (confirming) at {width} px: {v}" for v in violations(page, axe_script)
        ]
        screenshot(page, f"layout-users-confirm-{width}")

    assert not problems, "\n".join(problems)


def test_on_a_phone_the_top_bar_is_a_menu(page, live_server, make_user, screenshot):
    admin = make_user("admin@example.com", is_admin=True)
    page.set_viewport_size({"width": 360, "height": 800})
    sign_in_through_menu = page.goto("/login")
    assert sign_in_through_menu.status == 200
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))

    banner = page.get_by_role("banner")
    expect(banner.get_by_role("button", name="Sign out")).to_be_hidden()
    banner.get_by_text("Menu").click()
    expect(banner.get_by_role("button", name="Sign out")).to_be_visible()
    expect(banner.get_by_role("link", name="Admin", exact=True)).to_be_visible()
    screenshot(page, "layout-menu-open-360")

    page.set_viewport_size({"width": 1280, "height": 800})
    page.reload()
    expect(banner.get_by_text("Menu")).to_be_hidden()
    expect(banner.get_by_role("button", name="Sign out")).to_be_visible()


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two `rgb(r, g, b)` colours."""

    def luminance(colour: str) -> float:
        channels = [int(part) / 255 for part in re.findall(r"\d+", colour)[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_focus_rings_show_and_input_borders_stand_out(page, live_server, make_user):
    """WCAG 2.2 AA: a visible focus indicator, on blue buttons too; input borders 3:1."""
    page.goto("/login")
    email = page.get_by_label("Email")
    border = email.evaluate("(e) => getComputedStyle(e).borderTopColor")
    background = email.evaluate("(e) => getComputedStyle(e).backgroundColor")
    assert contrast(border, background) >= 3

    button = page.get_by_role("button", name="Sign in")
    button.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")  # focused from the keyboard: :focus-visible applies
    ring = button.evaluate(
        "(e) => { const s = getComputedStyle(e); return [s.outlineStyle, s.outlineWidth,"
        " s.outlineColor, s.outlineOffset]; }"
    )
    assert ring[0] == "solid" and float(ring[1].removesuffix("px")) >= 2, ring
    assert float(ring[3].removesuffix("px")) >= 2, "the ring stands off the blue button"
    page_background = page.evaluate(
        "getComputedStyle(document.querySelector('.card')).backgroundColor"
    )
    assert contrast(ring[2], page_background) >= 3
