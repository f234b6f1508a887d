"""Bad input gets a clear answer and changes nothing, never a 5xx: the review's own examples of
NUL bytes, huge numbers, hostile JSON and Unicode, and orchestration URLs."""

import base64
import json

import pytest
from helpers import PASSWORD, Forms, setup_link
from test_admin_projects import form_data

from webapp.extensions import db
from webapp.models import AuditEvent, Project, User
from webapp.rules.claims import MAX_CLAIM_DEPTH, orchestration_url_problem
from webapp.rules.hosts import is_host_and_port
from webapp.rules.problems import Problem

HUGE = "99999999999999999999"


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def audit_count(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(AuditEvent))


@pytest.mark.parametrize(
    "url",
    [
        "/auth/authorize?project=%00",
        "/projects/%00/token",
        "/admin/projects?q=%00",
        "/admin/users?q=a%00b",
        "/admin/projects/%00",
        "/admin/projects/%00/preview",
        "/admin/projects/%00/delete",
        "/admin/audit?project=%00",
    ],
)
def test_nul_in_a_url_is_a_400(client, signed_in_admin, url):
    response = client.get(url)
    assert response.status_code == 400
    assert "NUL" in response.get_data(as_text=True)


def test_nul_in_a_form_is_a_400_and_stores_nothing(app, forms, signed_in_admin, make_user):
    before = audit_count(app)
    for field in ("name", "orchestration_url", "slug", "issuer", "custom_claims"):
        response = forms.post("/admin/projects/new", form_data(**{field: "shop\x00x"}))
        assert response.status_code == 400, field
    target = make_user("other@example.com")
    response = forms.post("/admin/users/%00/disable", page="/admin/users")
    assert response.status_code == 400
    response = forms.post(
        "/admin/inspect", {"token": "a.b\x00.c", "project": ""}, page="/admin/inspect"
    )
    assert response.status_code == 400
    assert audit_count(app) == before
    with app.app_context():
        assert db.session.scalar(db.select(Project)) is None
        assert db.session.get(User, target.id).is_active


@pytest.mark.parametrize(
    "url",
    [
        f"/admin/projects?page={HUGE}",
        f"/admin/users?page={HUGE}",
        f"/admin/audit?before={HUGE}",
        f"/admin/audit?admin={HUGE}",
        "/admin/audit?admin=%C2%B2",  # ²
        "/admin/audit?before=%D9%A1",  # Arabic-Indic one
        "/admin/projects?page=" + "9" * 5000,
        "/admin/projects?page=-1",
    ],
)
def test_huge_or_foreign_numbers_are_a_400(client, signed_in_admin, url):
    response = client.get(url)
    assert response.status_code == 400
    assert "whole number" in response.get_data(as_text=True)


# The largest values of PostgreSQL's INTEGER and BIGINT columns, and one past each: each is
# a page, a 400 or a page past the end (404), never a 500 from the database.
COLUMN_EDGES = ["2147483647", "2147483648", "9223372036854775807", "9223372036854775808"]


@pytest.mark.parametrize("name", ["admin", "before", "page"])
@pytest.mark.parametrize("number", COLUMN_EDGES)
def test_numbers_at_the_columns_edges_are_no_server_error(client, signed_in_admin, name, number):
    for page in ("/admin/audit", "/admin/users", "/admin/projects"):
        response = client.get(f"{page}?{name}={number}")
        assert response.status_code in (200, 400, 404), (page, name, number)


@pytest.mark.parametrize("version", ["²", "١", "9" * 5000, HUGE, *COLUMN_EDGES])
def test_a_strange_version_is_a_conflict_not_a_crash(
    app, forms, signed_in_admin, make_project, version
):
    make_project("shop")
    response = forms.post("/admin/projects/shop", form_data(version=version, signing_key=""))
    assert response.status_code == 200
    assert "changed by someone else" in response.get_data(as_text=True)


@pytest.mark.parametrize("lifetime", ["9" * 5000, HUGE, "²", "-1", *COLUMN_EDGES])
def test_a_strange_lifetime_is_a_field_error(app, forms, signed_in_admin, lifetime):
    response = forms.post("/admin/projects/new", form_data(token_lifetime=lifetime))
    assert response.status_code == 200
    assert audit_count(app) == 0


@pytest.mark.parametrize(
    ("claims", "wanted"),
    [
        ('{"deep": ' + nested(1100) + "}", "at most 16 levels"),
        ('{"deep": ' + nested(960) + "}", "at most 16 levels"),
        ("deep = " + nested(MAX_CLAIM_DEPTH + 1), "more than 16 levels"),
        ('{"x": "\\ud800"}', "lone surrogate"),
        ('{"\\udfff": 1}', "UTF-8 cannot encode"),
        ('{"x": "a\\u0000b"}', "NUL"),
        ('{"x": "' + "a" * 20_000 + '"}', "16,384 bytes"),
    ],
)
def test_hostile_claims_are_refused_with_a_reason(app, forms, signed_in_admin, claims, wanted):
    response = forms.post("/admin/projects/new", form_data(custom_claims=claims))
    assert response.status_code == 200
    assert wanted in response.get_data(as_text=True)
    assert audit_count(app) == 0


def test_claims_at_the_depth_limit_are_saved(app, forms, signed_in_admin):
    claims = '{"deep": ' + nested(MAX_CLAIM_DEPTH) + "}"
    response = forms.post("/admin/projects/new", form_data(custom_claims=claims))
    assert response.status_code == 302
    assert forms.client.get("/admin/projects/shop").status_code == 200


def segment(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode("utf-8", "surrogatepass")).decode().rstrip("=")


@pytest.mark.parametrize(
    ("payload", "wanted"),
    [
        ('{"x": ' + nested(1100) + "}", "more than 16 levels"),
        ('{"x": "\\ud800"}', "UTF-8 cannot encode"),
        ('{"\\ud800": 1}', "UTF-8 cannot encode"),
    ],
)
def test_hostile_tokens_in_the_inspector(forms, signed_in_admin, payload, wanted):
    token = f"{segment(json.dumps({'alg': 'HS256'}))}.{segment(payload)}.c2ln"
    response = forms.post("/admin/inspect", {"token": token, "project": ""})
    assert response.status_code == 200
    assert wanted in response.get_data(as_text=True)


def test_a_very_long_token_is_refused(forms, signed_in_admin):
    response = forms.post("/admin/inspect", {"token": "a" * 20_000, "project": ""})
    assert response.status_code == 200
    assert "longer than any token" in response.get_data(as_text=True)


class Settings:
    control_via_browser = True
    environment = "development"


@pytest.mark.parametrize(
    "url",
    [
        "wss://orchestration.example.com:8080\x01",
        "wss://orchestration.example.com/a b",
        "wss://user:secret@orchestration.example.com",
        "wss://-bad-.example",
        "wss://orchestration.example.com:0",
        "wss://orchestration.example.com:",
        "wss://orchestration.example.com#fragment",
        "wss://orchestration.example.com.",
        "https://orchestration.example.com",
        "wss://1.2.3.999",
        "wss://0x7f.1",
    ],
)
def test_orchestration_urls_refused(url):
    assert orchestration_url_problem(url, Settings()) == Problem("orchestration_url", "url")


@pytest.mark.parametrize(
    "url",
    [
        "wss://localhost.",
        "ws://127.0.0.2:8080",
        "ws://0.0.0.0",
        "ws://[::ffff:127.0.0.1]",
        "ws://2130706433",
        "ws://[::1]:9000",
        "ws://app.localhost",
        "wss://127.1",
    ],
)
def test_the_localhost_rule_has_no_way_around(url):
    class Production:
        control_via_browser = False
        environment = "production"

    assert orchestration_url_problem(url, Production()) is not None


@pytest.mark.parametrize(
    "url",
    ["wss://orchestration.example.com:8080/path?x=1", "wss://10.0.0.1", "wss://[2001:db8::1]"],
)
def test_ordinary_orchestration_urls_pass(url):
    assert orchestration_url_problem(url, Settings()) is None


@pytest.mark.parametrize(
    ("host", "ok"),
    [
        ("dh.soulmachines.cloud", True),
        ("dh.soulmachines.cloud:443", True),
        ("dh.soulmachines.cloud:0", False),
        ("2130706433", False),
        ("-dh.example", False),
        ("dh.example.", False),
    ],
)
def test_the_session_server_shares_the_host_rule(host, ok):
    assert is_host_and_port(host) is ok


def test_setup_with_an_end_users_email_is_a_field_error(app, client, make_user):
    make_user("taken@example.com")
    link = setup_link(app)
    for spelling in ("Taken@Example.com", "TAKEN@example.COM"):
        response = Forms(client).post(
            link, {"email": spelling, "password": PASSWORD, "locale": "en"}
        )
        assert response.status_code == 200
        assert "already has an account" in response.get_data(as_text=True)
    assert client.get(link).status_code == 200  # the code still works
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 1


def test_an_expired_setup_code_is_gone(app, client):
    from webapp.services.setup_codes import LIFETIME, new_code

    code = new_code(app.instance_path, now=__import__("time").time() - LIFETIME - 1)
    response = client.get(f"/setup?code={code}")
    assert response.status_code == 404
    assert "expired" in response.get_data(as_text=True)


def test_the_error_page_rolls_back_a_failed_flush(make_app, make_project, make_user):
    """After a failed flush the session refuses every query until rolled back; the 500
    page (which loads who is signed in) must still render."""
    app = make_app(PROPAGATE_EXCEPTIONS=False)
    make_project("shop")
    user = make_user()

    @app.get("/broken-flush")
    def broken_flush():
        project = db.session.scalar(db.select(Project))
        db.session.add(Project(**{**project_values(project), "slug": "shop"}))
        db.session.flush()  # the slug is taken: IntegrityError, and no rollback here

    client = app.test_client()
    Forms(client).post("/login", {"email": user.email, "password": PASSWORD})
    response = client.get("/broken-flush")
    assert response.status_code == 500
    assert "Internal Server Error" in response.get_data(as_text=True)


def project_values(project: Project) -> dict:
    values = {field: getattr(project, field) for field in Project.SETTINGS}
    values.update(
        is_default=False,
        signing_key_encrypted=project.signing_key_encrypted,
        signing_key_fingerprint=project.signing_key_fingerprint,
    )
    return values
