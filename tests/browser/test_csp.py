"""Every page the app renders, loaded in Chromium under its Content-Security-Policy, as an
admin with some data: not one violation (an inline script or style, a stray origin)."""

import re

import pytest
from flask import url_for
from helpers import HOW_TO_ENABLE, HS256_KEY, PASSWORD

expect = pytest.importorskip("playwright.sync_api", reason=HOW_TO_ENABLE).expect
pytestmark = pytest.mark.browser

# Routes that answer JSON or text, or only POST; every other GET route must be visited.
NOT_PAGES = {"static", "api.authorize", "ops.ping", "ops.healthz", "metrics.metrics_page"}
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI}`);
});
"""


class Violations:
    """Console errors (CSP violations among them) and page errors seen while loading pages,
    with the page they came on."""

    def __init__(self, page):
        self.seen: list[str] = []
        self.visited: set[str] = set()
        page.add_init_script(REPORT_VIOLATIONS)
        page.on("console", self.console)
        page.on("pageerror", lambda error: self.seen.append(f"{page.url}: {error}"))
        self.page = page

    def console(self, message) -> None:
        # A deliberate error page logs its status as a failed load; that is no violation.
        expected_status = re.search(r"responded with a status of (400|403|404|405)", message.text)
        if message.type == "error" and not expected_status:
            self.seen.append(f"{self.page.url}: {message.text}")

    def load(self, path: str, endpoint: str | None = None, status: int = 200):
        response = self.page.goto(path)
        assert response.status == status, path
        assert "default-src 'self'" in response.headers["content-security-policy"]
        if endpoint:
            self.visited.add(endpoint)
        return response


def sign_in(page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation").first).to_contain_text(email)


def test_no_page_breaks_the_content_security_policy(page, live_server, make_user, make_project):
    app = live_server.app
    violations = Violations(page)

    # Before any admin exists: setup, and the anonymous pages.
    result = app.test_cli_runner().invoke(args=["setup-link", "--base-url", live_server.url])
    link = re.search(r"(/setup\?code=\S+)", result.stdout).group(1)
    violations.load(link, "setup.setup")
    for endpoint, path in (("main.index", "/"), ("auth.login", "/login")):
        violations.load(path, endpoint)
    violations.load("/register", "auth.register")
    violations.load("/no-such-page", status=404)

    # An admin with data: projects, users, audit events, a token, an inspection.
    admin = make_user("admin@example.com", is_admin=True)
    make_user("ada@example.com")
    make_project("demo", key=HS256_KEY, algorithm="HS256")
    sign_in(page, admin.email)
    violations.load("/admin/users", "admin.users")
    ada_row = page.get_by_role("row").filter(has_text="ada@example.com")
    ada_row.get_by_text("Disable…").click()
    ada_row.get_by_role("button", name="Disable", exact=True).click()  # an audit event to show
    expect(page.locator(".flashes")).to_contain_text("disabled")

    with app.test_request_context():
        paths = {
            rule.endpoint: url_for(rule.endpoint, **{name: "demo" for name in rule.arguments})
            for rule in app.url_map.iter_rules()
            if "GET" in rule.methods and rule.endpoint not in NOT_PAGES
        }
    # A reset or confirmation link with a made-up token gets its clear 400 page; single
    # sign-on is off here.
    refused = {
        "auth.reset_password_page": 400,
        "auth.confirm_email": 400,
        "auth.sso_start": 404,
        "auth.sso_callback": 404,
    }
    for endpoint, path in sorted(paths.items()):
        if endpoint not in ("setup.setup", "auth.register", "auth.login"):
            violations.load(path, endpoint, status=refused.get(endpoint, 200))

    violations.load("/projects/demo/token")
    page.get_by_role("button", name="Get a token").click()
    expect(page.locator("#token-claims")).to_be_visible()
    token = page.locator("#token-jwt").inner_text()

    violations.load("/admin/projects/demo/preview")
    page.get_by_role("button", name="Issue a test token").click()
    expect(page.locator("#test-token")).to_be_visible()

    violations.load("/admin/inspect")
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name=re.compile("Inspect")).click()
    expect(page.locator("#verdict")).to_be_visible()

    violations.load("/admin/users/x/disable", status=405)  # an error page while signed in

    assert violations.visited == set(paths) | {"setup.setup", "auth.register", "auth.login"}
    assert violations.seen == []
