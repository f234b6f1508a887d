"""The services are the only gate for writes: called directly, with hostile values, they refuse
by name and change nothing, whoever the caller (a form, a command, an imported file)."""

import pytest
from helpers import HS256_KEY, PASSWORD

from webapp.extensions import db
from webapp.models import AuditEvent, Project, User
from webapp.rules.problems import InvalidProject
from webapp.services.projects import StaleProject, save_project, stored_project_problems
from webapp.services.users import EmailTaken, InvalidAccount, create_user

GOOD = {
    "name": "Shop",
    "slug": "shop",
    "session_server": "dh.soulmachines.cloud",
    "issuer": "sm-abcdef123456789",
}


def rows(model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def refused(values: dict, *, new_key: str | None = HS256_KEY, project: Project | None = None):
    """Save and expect a refusal; hand back the problems, and check nothing was written."""
    before = rows(Project), rows(AuditEvent)
    with pytest.raises(InvalidProject) as refusal:
        save_project(project or Project(), values, new_key=new_key, actor=None)
    db.session.rollback()
    assert (rows(Project), rows(AuditEvent)) == before
    return {(problem.field, problem.code) for problem in refusal.value.problems}


def test_a_good_project_is_saved_with_defaults_and_audited(app):
    with app.app_context():
        project = Project()
        assert save_project(project, GOOD, new_key=HS256_KEY, actor=None) == []
        db.session.commit()
        assert (project.algorithm, project.token_lifetime, project.environment) == (
            "HS256",
            1800,
            "production",
        )
        assert project.enabled and not project.is_default
        assert rows(AuditEvent) == 1
        assert stored_project_problems(project) == []


def test_unknown_fields_are_refused_by_name_never_written(app):
    with app.app_context():
        problems = refused({**GOOD, "id": 99, "signing_key_encrypted": "x", "__class__": 1})
        assert problems == {
            ("id", "unknown"),
            ("signing_key_encrypted", "unknown"),
            ("__class__", "unknown"),
        }


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"slug": "ok/evil"}, ("slug", "pattern")),
        ({"slug": "ok b"}, ("slug", "pattern")),
        ({"slug": "ok<b>x"}, ("slug", "pattern")),
        ({"slug": "ok-"}, ("slug", "pattern")),
        ({"slug": "ok\u202eevil"}, ("slug", "pattern")),
        ({"slug": "ok\n"}, ("slug", "pattern")),
        ({"slug": "new"}, ("slug", "reserved")),
        ({"slug": 5}, ("slug", "required")),
        ({"name": "a\x00b"}, ("name", "text")),
        ({"name": None}, ("name", "required")),
        ({"name": "x" * 121}, ("name", "text")),
        ({"enabled": "yes"}, ("enabled", "boolean")),
        ({"is_default": 1}, ("is_default", "boolean")),
        ({"token_lifetime": "1800"}, ("token_lifetime", "range")),
        ({"token_lifetime": True}, ("token_lifetime", "range")),
        ({"token_lifetime": 10**400}, ("token_lifetime", "range")),
        ({"algorithm": "none"}, ("algorithm", "choice")),
        ({"environment": "staging"}, ("environment", "choice")),
        ({"allowed_origins": "https://a.example"}, ("allowed_origins", "type")),
        ({"allowed_origins": ["https://a.example/path"]}, ("allowed_origins", "origin")),
        ({"custom_claims": ["a"]}, ("custom_claims", "type")),
        ({"custom_claims": {"SM-x": 1}}, ("custom_claims", "vendor_prefix")),
        ({"custom_claims": {"Exp": 1}}, ("custom_claims", "reserved")),
        ({"custom_claims": {"x": float("nan")}}, ("custom_claims", "value")),
        ({"session_server": "a b"}, ("session_server", "host")),
        ({"control_cookie_header": "a\r\nb"}, ("control_cookie_header", "cookie")),
        ({"control_via_browser": True}, ("control_via_browser", "development_only")),
    ],
)
def test_hostile_values_are_refused_by_the_service_itself(app, values, expected):
    with app.app_context():
        assert expected in refused({**GOOD, **values})


def test_the_key_is_checked_by_the_service(app, signing_keys):
    with app.app_context():
        assert ("signing_key", "required") in refused(GOOD, new_key=None)
        assert ("signing_key", "required") in refused(GOOD, new_key=" \r\n\t")
        assert ("signing_key", "not_a_secret") in refused(GOOD, new_key=signing_keys["RS256"][0])
        assert ("signing_key", "pem") in refused({**GOOD, "algorithm": "RS256"})
        warnings = save_project(Project(), GOOD, new_key="short", actor=None)
        assert [(w.field, w.code) for w in warnings] == [("signing_key", "short")]


def test_changing_the_algorithm_checks_the_stored_key(app, make_project):
    make_project("shop")
    with app.app_context():
        project = db.session.scalar(db.select(Project).filter_by(slug="shop"))
        assert ("signing_key", "pem") in refused(
            {"algorithm": "ES256"}, new_key=None, project=project
        )


def test_a_taken_slug_is_refused(app, make_project):
    make_project("shop")
    with app.app_context():
        assert ("slug", "taken") in refused(GOOD)


def test_a_stale_version_is_refused(app, make_project):
    make_project("shop")
    with app.app_context():
        project = db.session.scalar(db.select(Project).filter_by(slug="shop"))
        with pytest.raises(StaleProject):
            save_project(project, {"name": "New"}, new_key=None, actor=None, expected_version=7)


def test_only_the_given_fields_change(app, make_project):
    make_project("shop", token_lifetime=900, allowed_origins=["https://a.example"])
    with app.app_context():
        project = db.session.scalar(db.select(Project).filter_by(slug="shop"))
        save_project(project, {"name": "Renamed"}, new_key=None, actor=None)
        db.session.commit()
        assert (project.name, project.token_lifetime) == ("Renamed", 900)
        assert project.allowed_origins == ["https://a.example"]


@pytest.mark.parametrize(
    ("email", "password", "locale", "field"),
    [
        ("not-an-email", PASSWORD, "en-US", "email"),
        ("a\x00b@example.com", PASSWORD, "en-US", "email"),
        ("x" * 300 + "@example.com", PASSWORD, "en-US", "email"),
        ("ada@example.com", "short", "en-US", "password"),
        ("ada@example.com", PASSWORD, "xx-YY", "locale"),
        ("ada@example.com", PASSWORD, "\ud800", "locale"),
    ],
)
def test_accounts_refuse_hostile_values(app, email, password, locale, field):
    with app.app_context():
        with pytest.raises(InvalidAccount) as refusal:
            create_user(email, password, locale, is_admin=False, actor=None)
        db.session.rollback()
        assert [problem.field for problem in refusal.value.problems] == [field]
        assert rows(User) == 0 and rows(AuditEvent) == 0


def test_one_spelling_of_an_email_is_one_account(app):
    nfc, nfd = "jos\u00e9@example.com", "jose\u0301@example.com"
    with app.app_context():
        user = create_user(" Jos\u00c9@Example.COM ", PASSWORD, "en-us", is_admin=False, actor=None)
        db.session.commit()
        assert (user.email, user.locale) == (nfc, "en-US")
        for spelling in (nfc, nfd, nfd.upper()):
            with pytest.raises(EmailTaken):
                create_user(spelling, PASSWORD, "en-US", is_admin=False, actor=None)
            db.session.rollback()
        assert User.by_email(nfd) == user
        assert rows(User) == 1
