"""An admin's first day, in Chromium, by visible labels and buttons: first-run setup, signing
out and in, a project refused then saved, edited and audited, a token previewed, issued and
inspected, and the users page.

It is one story in one test: each step builds on the one before (the admin made at /setup is
the one who edits, and whose audit trail and test token the later steps read), and the root
fixtures delete every row after a test that uses them.
"""

import json
import re
import time
from dataclasses import dataclass, field

import jwt
import pytest
from helpers import HOW_TO_ENABLE, PASSWORD

expect = pytest.importorskip("playwright.sync_api", reason=HOW_TO_ENABLE).expect
pytestmark = pytest.mark.browser

ADMIN_EMAIL = "first.admin@example.com"
NAME, SLUG = "Shop assistant", "shop-assistant"
# What the admin pastes as the project's key; no page may ever show it again.
KEY = "a-vendor-shared-secret-for-the-browser-test"
OLD_ISSUER, NEW_ISSUER = "sm-abcdef123456789", "sm-fedcba987654321"
VIA_BROWSER_ONLY_IN_DEVELOPMENT = "Control via browser is only allowed in development projects."
# The inspector words the same rule about a token's claim.
TOKEN_VIA_BROWSER_ONLY_IN_DEVELOPMENT = (
    "sm-control-via-browser: true is only allowed in development projects."
)


@dataclass
class Visits:
    """The HTML of every page the admin saw, to prove the signing key is never in one."""

    pages: dict[str, str] = field(default_factory=dict)

    def keep(self, page, name: str) -> None:
        self.pages[name] = page.content()


def field_of(page, label: str):
    """The form field's block (label, input, error, help) around the input labelled `label`."""
    return page.locator("div.field").filter(has=page.get_by_label(label, exact=True))


def admin_tab(page, name: str):
    return page.get_by_role("navigation", name="Admin").get_by_role("link", name=name, exact=True)


def badge(row, text: str):
    return row.locator(".badge").filter(has_text=re.compile(rf"^{text}$"))


def flash(page):
    return page.locator(".flashes")


def test_an_admin_sets_up_configures_previews_and_inspects(
    page, live_server, make_user, screenshot
):
    visits = Visits()
    first_run_setup(page, live_server, screenshot, visits)
    sign_out_and_in(page, live_server)
    create_project(page, live_server, screenshot, visits)
    edit_and_audit(page, live_server, screenshot, visits)
    token = preview_and_issue(page, live_server, screenshot, visits)
    inspect(page, token, screenshot, visits)
    manage_users(page, make_user, screenshot, visits)

    for name, html in visits.pages.items():
        assert KEY not in html, f"the signing key is shown on {name}"


def first_run_setup(page, live_server, screenshot, visits: Visits) -> None:
    """Ops print the one-time link; the first admin opens it and makes their account."""
    assert page.goto("/setup").status == 404, "/setup must need the console's code"
    result = live_server.app.test_cli_runner().invoke(
        args=["setup-link", "--base-url", live_server.url]
    )
    assert result.exit_code == 0, result.stdout
    found = re.fullmatch(
        rf"No admin yet\. Create the first one at ({re.escape(live_server.url)}/setup\?code=\S+) "
        r"\(valid once, for 60 minutes\)\n",
        result.stdout,
    )
    assert found, result.stdout
    setup_url = found.group(1)

    page.goto(setup_url)
    expect(page.get_by_role("heading", name="Create the first admin")).to_be_visible()
    page.get_by_label("Email", exact=True).fill(ADMIN_EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Locale", exact=True).fill("en-GB")
    screenshot(page, "admin-setup")
    page.get_by_role("button", name="Create admin account").click()

    expect(page).to_have_url(f"{live_server.url}/admin/")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(flash(page)).to_contain_text("Your admin account is ready.")
    expect(page.get_by_role("banner")).to_contain_text(ADMIN_EMAIL)
    visits.keep(page, "dashboard")
    screenshot(page, "admin-dashboard")

    assert page.goto(setup_url).status == 404, "/setup must be gone once an admin exists"


def sign_out_and_in(page, live_server) -> None:
    page.goto("/admin/")
    page.get_by_role("banner").get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("banner").get_by_role("link", name="Sign in")).to_be_visible()

    page.goto("/admin/")
    expect(page).to_have_url(f"{live_server.url}/login?next=%2Fadmin%2F")
    page.get_by_label("Email", exact=True).fill(ADMIN_EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(f"{live_server.url}/admin/")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def create_project(page, live_server, screenshot, visits: Visits) -> None:
    """A production project with Control via browser is refused beside that field; the rest
    of the input stays, except the key, which is never sent back."""
    admin_tab(page, "Projects").click()
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()
    screenshot(page, "admin-projects-empty")
    page.get_by_role("link", name="New project").click()
    expect(page).to_have_url(f"{live_server.url}/admin/projects/new")
    expect(page.get_by_label("Token lifetime (seconds)", exact=True)).to_have_value("1800")
    expect(page.get_by_label("Enabled", exact=True)).to_be_checked()
    expect(page.get_by_label("Environment", exact=True)).to_have_value("development")

    page.get_by_label("Name", exact=True).fill(NAME)
    page.get_by_label("Slug", exact=True).fill(SLUG)
    page.get_by_label("Environment", exact=True).select_option("production")
    page.get_by_label("Session server", exact=True).fill("dh.soulmachines.cloud")
    page.get_by_label("Issuer", exact=True).fill(OLD_ISSUER)
    page.get_by_label("Signing key", exact=True).fill(KEY)
    page.get_by_label("Algorithm", exact=True).select_option("HS256")
    page.get_by_label("Orchestration URL", exact=True).fill("wss://orch.example.com")
    page.get_by_label("Control via browser", exact=True).check()
    page.get_by_label("Control cookie header", exact=True).fill("session=abc")
    page.get_by_label("Allowed origins", exact=True).fill("https://shop.example.com")
    page.get_by_label("Custom claims", exact=True).fill("tier = 2")
    page.get_by_label("Default project", exact=True).check()
    page.get_by_role("button", name="Save project").click()

    expect(page).to_have_url(f"{live_server.url}/admin/projects/new")
    expect(field_of(page, "Control via browser").locator("p.error")).to_have_text(
        VIA_BROWSER_ONLY_IN_DEVELOPMENT
    )
    expect(page.locator("p.error")).to_have_count(1)
    expect(page.get_by_label("Name", exact=True)).to_have_value(NAME)
    expect(page.get_by_label("Slug", exact=True)).to_have_value(SLUG)
    expect(page.get_by_label("Orchestration URL", exact=True)).to_have_value(
        "wss://orch.example.com"
    )
    expect(page.get_by_label("Issuer", exact=True)).to_have_value(OLD_ISSUER)
    expect(page.get_by_label("Custom claims", exact=True)).to_have_value("tier = 2")
    expect(page.get_by_label("Allowed origins", exact=True)).to_have_value(
        "https://shop.example.com"
    )
    expect(page.get_by_label("Control via browser", exact=True)).to_be_checked()
    expect(page.get_by_label("Default project", exact=True)).to_be_checked()
    expect(page.get_by_label("Signing key", exact=True)).to_have_value("")
    visits.keep(page, "project form with errors")
    screenshot(page, "admin-project-form-errors")

    page.get_by_label("Control via browser", exact=True).uncheck()
    page.get_by_label("Signing key", exact=True).fill(KEY)
    page.get_by_role("button", name="Save project").click()

    expect(page).to_have_url(f"{live_server.url}/admin/projects/{SLUG}")
    expect(flash(page)).to_have_text(f"Saved “{NAME}”.")
    expect(page.get_by_role("heading", name=NAME)).to_be_visible()
    visits.keep(page, "project after create")

    admin_tab(page, "Projects").click()
    row = page.get_by_role("row").filter(has_text=SLUG)
    expect(row).to_contain_text(NAME)
    expect(row).to_contain_text("production")
    expect(row).to_contain_text(OLD_ISSUER)
    visits.keep(page, "projects list")
    screenshot(page, "admin-projects")
    row.get_by_role("link", name=NAME).click()
    expect(page).to_have_url(f"{live_server.url}/admin/projects/{SLUG}")


def edit_and_audit(page, live_server, screenshot, visits: Visits) -> None:
    """Changing the issuer with the key left empty keeps the key; the trail shows the change."""
    expect(page.get_by_label("Signing key", exact=True)).to_have_value("")
    expect(page.get_by_label("Issuer", exact=True)).to_have_value(OLD_ISSUER)
    visits.keep(page, "project edit")
    screenshot(page, "admin-project-edit")
    page.get_by_label("Issuer", exact=True).fill(NEW_ISSUER)
    page.get_by_role("button", name="Save project").click()

    expect(page).to_have_url(f"{live_server.url}/admin/projects/{SLUG}")
    expect(flash(page)).to_have_text(f"Saved “{NAME}”.")
    expect(page.get_by_label("Issuer", exact=True)).to_have_value(NEW_ISSUER)
    visits.keep(page, "project after edit")

    admin_tab(page, "Audit trail").click()
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
    update = page.locator("table.audit > tbody > tr").filter(has_text="update project")
    expect(update).to_have_count(1)
    expect(update).to_contain_text(SLUG)
    expect(update).to_contain_text(ADMIN_EMAIL)
    issuer = update.locator("dl.changes .change").filter(
        has=page.locator("dt", has_text=re.compile(r"^Issuer$"))
    )
    expect(issuer.locator(".before")).to_have_text(OLD_ISSUER)
    expect(issuer.locator(".after")).to_have_text(NEW_ISSUER)
    # Only the issuer changed: the key was left empty, so it was kept.
    expect(update.locator("dl.changes .change")).to_have_count(1)
    created = page.locator("table.audit > tbody > tr").filter(has_text="create project")
    expect(created.locator(".summary")).to_contain_text(f"Name: {NAME}")
    fingerprint = created.get_by_text("Signing key (fingerprint)")
    expect(fingerprint).to_be_hidden()  # one click away
    created.get_by_text(re.compile(r"^All \d+ values$")).click()
    expect(fingerprint).to_be_visible()
    visits.keep(page, "audit trail")
    screenshot(page, "admin-audit")


def preview_and_issue(page, live_server, screenshot, visits: Visits) -> str:
    """The preview shows the claims of the admin's own token; a test token verifies."""
    admin_tab(page, "Projects").click()
    page.get_by_role("link", name=NAME).click()
    page.get_by_role("navigation", name=f"Project {NAME}").get_by_role(
        "link", name="Preview"
    ).click()
    expect(page).to_have_url(f"{live_server.url}/admin/projects/{SLUG}/preview")

    def shown(heading: str) -> dict:
        card = page.locator("section").filter(
            has=page.get_by_role("heading", name=heading, exact=True)
        )
        return json.loads(card.locator("pre").inner_text())

    assert shown("Header") == {"alg": "HS256", "typ": "JWT"}
    claims = shown("Claims")
    assert claims["iss"] == NEW_ISSUER
    assert claims["sm-session-server"] == "dh.soulmachines.cloud"
    assert claims["sm-control"] == "wss://orch.example.com"
    assert claims["sm-control-via-browser"] is False
    assert claims["sm-control-cookie-header"] == "session=abc"
    assert claims["locale"] == "en-GB"
    assert claims["tier"] == 2
    assert claims["exp"] - claims["iat"] == 1800
    visits.keep(page, "preview")

    page.get_by_role("button", name="Issue a test token").click()
    shown_token = page.locator("pre#test-token")
    expect(shown_token).to_be_visible()
    visits.keep(page, "preview with test token")
    screenshot(page, "admin-preview")
    token = shown_token.inner_text().strip()

    decoded = jwt.decode(token, KEY, algorithms=["HS256"])
    assert decoded["user_id"] == claims["user_id"]
    assert decoded["locale"] == "en-GB"
    assert decoded["iss"] == NEW_ISSUER
    assert decoded["tier"] == 2
    return token


def inspect(page, token: str, screenshot, visits: Visits) -> None:
    """Our own token passes every check; a vendor-template-style token that breaks the rules
    gets each rule it breaks listed."""
    admin_tab(page, "Token inspector").click()
    expect(page.get_by_role("heading", name="Token inspector")).to_be_visible()
    page.get_by_label("Token", exact=True).fill(token)
    page.get_by_label("Check the signature against", exact=True).select_option(
        label=f"{NAME} ({SLUG})"
    )
    page.get_by_role("button", name="Inspect").click()

    expect(page.locator("#signature")).to_contain_text("Signature: valid")
    expect(page.locator("#problems")).to_have_text("It breaks none of the rules.")
    visits.keep(page, "inspector, our token")
    screenshot(page, "admin-inspect-valid")

    now = int(time.time())
    express_style = jwt.encode(
        {
            "iss": "sm-x",
            "sm-control-via-browser": True,
            "sm-foo": 1,
            "iat": now,
            "exp": now + 1800,
        },
        "not-the-project-key-but-32-bytes-or-more",
        algorithm="HS256",
    )
    page.get_by_label("Token", exact=True).fill(express_style)
    page.get_by_label("Check the signature against", exact=True).select_option(
        label="— no project —"
    )
    page.get_by_role("button", name="Inspect").click()

    expect(page.locator("#signature")).to_have_text("Signature not checked: choose a project.")
    problems = page.locator("#problems")
    expect(problems).to_contain_text("sm-session-server is missing")
    expect(problems).to_contain_text("may not begin with “sm-”")
    expect(problems).to_contain_text(TOKEN_VIA_BROWSER_ONLY_IN_DEVELOPMENT)
    expect(problems.get_by_role("listitem").filter(has_text="sm-foo")).to_have_count(1)
    visits.keep(page, "inspector, broken token")
    screenshot(page, "admin-inspect")


def manage_users(page, make_user, screenshot, visits: Visits) -> None:
    """The admin sees themselves, grants and takes rights, and cannot remove the last admin."""
    other = make_user("second.person@example.com", locale="fr-FR")
    admin_tab(page, "Users").click()
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    me = page.get_by_role("row").filter(has_text=ADMIN_EMAIL)
    expect(me).to_contain_text("(you)")
    expect(badge(me, "admin")).to_be_visible()
    them = page.get_by_role("row").filter(has_text=other.email)
    expect(badge(them, "admin")).to_have_count(0)
    expect(them).to_contain_text("fr-FR")
    expect(them).to_contain_text("never")

    them.get_by_role("button", name="Make admin").click()
    expect(flash(page)).to_contain_text(f"{other.email} is now an admin.")
    expect(badge(them, "admin")).to_be_visible()
    expect(them.get_by_text("Remove admin…")).to_be_visible()

    expect(me.get_by_text("Disable…")).to_have_count(0)  # nobody disables themselves here
    them.get_by_text("Disable…").click()
    them.get_by_role("button", name="Disable", exact=True).click()
    expect(flash(page)).to_contain_text(f"{other.email} is disabled")
    expect(badge(them, "disabled")).to_be_visible()
    expect(them.get_by_role("button", name="Enable")).to_be_visible()

    # The other admin is disabled, so this admin is the last active one and must stay.
    me.get_by_text("Remove admin…").click()
    expect(me).to_contain_text("You will lose access to the admin pages at once.")
    me.get_by_role("button", name="Remove admin", exact=True).click()
    expect(flash(page)).to_contain_text("There must stay at least one active admin.")
    expect(me.get_by_text("Remove admin…")).to_be_visible()
    visits.keep(page, "users")
    screenshot(page, "admin-users")
