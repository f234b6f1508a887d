"""Admins keep project configurations: the form, its rules, locking, default, delete, preview."""

import html
import json
import re

import jwt
import pytest
from helpers import HS256_KEY, metric_value

from webapp.extensions import db
from webapp.models import AuditEvent, Project
from webapp.rules.encryption import fingerprint

KEY = "a-vendor-shared-secret-of-32-bytes!"


def form_data(**overrides) -> dict:
    """What a browser sends for the new-project form, filled in."""
    data = {
        "name": "Shop assistant",
        "slug": "shop",
        "session_server": "dh.soulmachines.cloud",
        "orchestration_url": "",
        "issuer": "sm-abcdef123456789",
        "signing_key": KEY,
        "algorithm": "HS256",
        "token_lifetime": "1800",
        "environment": "production",
        "control_cookie_header": "",
        "allowed_origins": "",
        "custom_claims": "",
        "enabled": "y",
    }
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not None}


def stored(app, slug: str = "shop") -> Project | None:
    with app.app_context():
        project = db.session.scalar(db.select(Project).filter_by(slug=slug))
        if project is not None:
            db.session.expunge(project)
        return project


def events(app, action: str | None = None) -> list[AuditEvent]:
    with app.app_context():
        select = db.select(AuditEvent).order_by(AuditEvent.id)
        if action:
            select = select.filter_by(action=action)
        found = db.session.scalars(select).all()
        db.session.expunge_all()
        return found


def edit_data(project: Project, **overrides) -> dict:
    data = form_data(
        name=project.name,
        slug=project.slug,
        session_server=project.session_server,
        issuer=project.issuer,
        signing_key="",
        environment=project.environment,
        version=str(project.version),
    )
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not None}


def create(forms, **overrides):
    return forms.post("/admin/projects/new", form_data(**overrides))


@pytest.fixture(autouse=True)
def admin_signed_in(signed_in_admin):
    return signed_in_admin


def test_new_project_form_has_the_pinned_labels_and_defaults(client):
    page = client.get("/admin/projects/new").get_data(as_text=True)
    for label in (
        "Name",
        "Slug",
        "Session server",
        "Orchestration URL",
        "Issuer",
        "Signing key",
        "Algorithm",
        "Token lifetime (seconds)",
        "Environment",
        "Control via browser",
        "Control cookie header",
        "Allowed origins",
        "Custom claims",
        "Default project",
        "Enabled",
    ):
        assert f">{label}</label>" in page, label
    assert 'value="1800"' in page


def test_a_new_project_defaults_to_development_and_marks_required_fields(client):
    page = client.get("/admin/projects/new").get_data(as_text=True)
    assert '<option selected value="development">' in page
    for name in ("name", "slug", "session_server", "issuer", "signing_key", "token_lifetime"):
        tag = re.search(rf'<(input|textarea)[^>]*\bid="{name}"[^>]*>', page).group(0)
        assert " required" in tag, name
        assert f'for="{name}">' in page and 'class="required"' in page
    assert " required" not in re.search(r'<input[^>]*id="orchestration_url"[^>]*>', page).group(0)


def test_a_short_key_is_flagged_on_the_first_submit_beside_other_errors(forms):
    page = create(forms, signing_key="short-key", issuer="").get_data(as_text=True)
    assert 'id="issuer-error"' in page
    warning = page.split('id="signing_key-warning">')[1].split("</p>")[0]
    assert "short" in warning.lower() or "bytes" in warning


def test_create_stores_an_encrypted_key_and_audits_its_fingerprint(app, forms):
    response = create(
        forms, custom_claims="tier = 2\nname = Ana", allowed_origins="https://Shop.Example.com/"
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/projects/shop"
    project = stored(app)
    assert KEY not in project.signing_key_encrypted
    assert project.signing_key_fingerprint == fingerprint(KEY)
    assert project.custom_claims == {"tier": 2, "name": "Ana"}
    assert project.allowed_origins == ["https://shop.example.com"]
    [event] = events(app, "create")
    assert event.target_label == "shop"
    assert event.changes["signing_key_fingerprint"]["after"] == fingerprint(KEY)
    assert KEY not in json.dumps(event.changes)


def test_the_key_is_never_sent_back(client, forms):
    create(forms)
    page = client.get("/admin/projects/shop").get_data(as_text=True)
    assert KEY not in page
    assert fingerprint(KEY) in page
    assert "Leave empty to keep" in page


def test_edit_with_an_empty_key_keeps_it_and_audits_only_changes(app, forms):
    create(forms)
    project = stored(app)
    response = forms.post("/admin/projects/shop", edit_data(project, name="Shop helper"))
    assert response.status_code == 302
    after = stored(app)
    assert after.name == "Shop helper"
    assert after.signing_key_encrypted == project.signing_key_encrypted
    [event] = events(app, "update")
    assert event.changes == {"name": {"before": "Shop assistant", "after": "Shop helper"}}


def test_a_key_of_blank_space_keeps_the_stored_key(app, forms):
    """A script may post a bare line break where a browser sends nothing."""
    create(forms)
    project = stored(app)
    response = forms.post("/admin/projects/shop", edit_data(project, signing_key="\r\n "))
    assert response.status_code == 302
    assert stored(app).signing_key_encrypted == project.signing_key_encrypted
    assert all("signing_key_fingerprint" not in event.changes for event in events(app, "update"))


def test_new_key_replaces_the_old_one(app, forms):
    create(forms)
    forms.post("/admin/projects/shop", edit_data(stored(app), signing_key="n" * 40))
    with app.app_context():
        project = db.session.scalar(db.select(Project).filter_by(slug="shop"))
        assert project.decrypt_signing_key() == "n" * 40
    [event] = events(app, "update")
    assert event.changes["signing_key_fingerprint"]["after"] == fingerprint("n" * 40)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"control_via_browser": "y", "orchestration_url": "wss://orch.example.com"},
            "Control via browser is only allowed in development projects.",
        ),
        ({"orchestration_url": "ws://orch.example.com"}, "Use wss://"),
        ({"orchestration_url": "wss://localhost:8080"}, "A localhost orchestration server"),
        ({"token_lifetime": "59"}, "Choose between 60 and 86,400 seconds."),
        ({"token_lifetime": "86401"}, "Choose between 60 and 86,400 seconds."),
        ({"token_lifetime": "soon"}, "Not a valid integer value."),
        ({"allowed_origins": "https://*.example.com"}, "no wildcard"),
        ({"allowed_origins": "https://example.com/app"}, "no path"),
        ({"custom_claims": "sm-mood = happy"}, "may not begin with “sm-”"),
        ({"custom_claims": "iss = me"}, "set by the issuer itself"),
        ({"custom_claims": "no equals sign"}, "Line 1: write name = value."),
        ({"custom_claims": "{not json"}, "This is not valid JSON"),
        ({"control_cookie_header": "a=b\r\nX-Evil: 1"}, "no control characters"),
        ({"session_server": "ftp://dh.example"}, "Digital Person server's host"),
        ({"slug": "Shop Assistant"}, "lower-case letters, digits and single hyphens"),
        ({"slug": "new"}, "choose another"),
        ({"signing_key": ""}, "Enter the signing key."),
        ({"algorithm": "RS256"}, "unencrypted PEM private key"),
        ({"name": ""}, "This field is required."),
        ({"orchestration_url": "wss://["}, "Enter a WebSocket URL"),
        ({"orchestration_url": "wss://orch.example.com:99999999"}, "Enter a WebSocket URL"),
        ({"orchestration_url": "wss://o.example.com/" + "x" * 3000}, "Enter a WebSocket URL"),
        ({"signing_key": "ssh-rsa AAAAB3NzaC1yc2E ops@host"}, "not a public or private key"),
        ({"custom_claims": "big = 1e999"}, "“big” needs a JSON value"),
        ({"custom_claims": '{"nan": NaN}'}, "“nan” needs a JSON value"),
    ],
)
def test_refused_input_is_explained_and_kept_and_nothing_changes(app, forms, fields, message):
    response = create(forms, **fields)
    assert response.status_code == 200
    page = html.unescape(response.get_data(as_text=True))
    assert message in page
    assert 'class="field has-error' in page
    assert KEY not in page  # keys are never sent back, even to their typist
    assert 'value="Shop assistant"' in page or fields.get("name") == ""
    assert stored(app) is None
    assert events(app) == []


def test_session_server_url_from_the_console_is_stored_as_a_host(app, forms):
    create(forms, session_server="wss://DH.soulmachines.cloud/some/path")
    assert stored(app).session_server == "dh.soulmachines.cloud"


def test_localhost_orchestration_in_development_with_control_via_browser(app, forms):
    response = create(
        forms,
        environment="development",
        orchestration_url="ws://localhost:8080",
        control_via_browser="y",
    )
    assert response.status_code == 302
    assert stored(app).control_via_browser is True


def test_custom_claims_as_json(app, forms):
    create(forms, custom_claims='{"tier": 2, "flags": ["a"], "vip": true}')
    assert stored(app).custom_claims == {"tier": 2, "flags": ["a"], "vip": True}


def test_short_hmac_key_is_saved_with_a_visible_warning(app, client, forms):
    response = create(forms, signing_key="short-key")
    assert response.status_code == 302
    page = client.get("/admin/projects/shop").get_data(as_text=True)
    assert "This key is 9 bytes; HS256 keys should be at least 32 bytes." in page


def test_public_key_algorithms_check_the_pem(app, forms, signing_keys):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    small = (
        rsa.generate_private_key(public_exponent=65537, key_size=1024)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    assert "at least 2048 bits" in create(forms, algorithm="RS256", signing_key=small).get_data(
        as_text=True
    )
    assert "P-256" in create(
        forms, algorithm="ES256", signing_key=signing_keys["RS256"][0]
    ).get_data(as_text=True)
    assert create(forms, algorithm="RS256", signing_key=signing_keys["RS256"][0]).status_code == 302


def test_changing_the_algorithm_checks_the_kept_key(app, forms):
    create(forms)
    response = forms.post("/admin/projects/shop", edit_data(stored(app), algorithm="ES256"))
    assert response.status_code == 200
    assert "unencrypted PEM private key" in response.get_data(as_text=True)
    assert stored(app).algorithm == "HS256"


def test_slug_must_be_unique(app, forms, make_project):
    make_project("shop")
    response = create(forms)
    assert "Another project already has this slug." in response.get_data(as_text=True)


def test_only_one_default_project(app, forms, make_project):
    make_project("old", is_default=True)
    response = create(forms, is_default="y")
    assert response.status_code == 302
    assert stored(app, "shop").is_default is True
    assert stored(app, "old").is_default is False
    undefaulted = [event for event in events(app, "update") if event.target_label == "old"]
    assert undefaulted[0].changes == {"is_default": {"before": True, "after": False}}


def test_second_save_of_a_stale_form_is_refused(app, forms):
    create(forms)
    opened = stored(app)  # both admins opened version 1
    assert (
        forms.post("/admin/projects/shop", edit_data(opened, issuer="sm-first")).status_code == 302
    )
    response = forms.post("/admin/projects/shop", edit_data(opened, issuer="sm-second"))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "changed by someone else since you opened it" in page
    assert 'value="sm-second"' in page  # their input is kept
    assert stored(app).issuer == "sm-first"


def test_delete_asks_first_then_deletes_and_audits(app, client, forms, make_project):
    project = make_project("shop")
    page = client.get("/admin/projects/shop/delete").get_data(as_text=True)
    assert "Delete “Shop”?" in page
    assert stored(app) is not None
    response = forms.post("/admin/projects/shop/delete")
    assert response.status_code == 302
    assert stored(app) is None
    [event] = events(app, "delete")
    assert event.target_id == project.id
    assert event.changes["slug"] == {"before": "shop", "after": None}


def test_list_searches_sorts_and_pages(app, client, make_project):
    with app.app_context():
        for number in range(60):
            project = Project(
                slug=f"p{number:02}",
                name=f"Project {number:02}",
                session_server="h.example",
                issuer="sm-x",
                allowed_origins=[],
                custom_claims={},
            )
            project.set_signing_key(HS256_KEY)
            db.session.add(project)
        db.session.commit()
    first = client.get("/admin/projects").get_data(as_text=True)
    assert "Project 00" in first and "Project 49" in first and "Project 50" not in first
    assert "Page 1 of 2" in first and fingerprint(HS256_KEY) in first
    second = client.get("/admin/projects?page=2").get_data(as_text=True)
    assert "Project 59" in second and "Project 49" not in second
    found = client.get("/admin/projects?q=ject 07").get_data(as_text=True)
    assert "Project 07" in found and "Project 08" not in found
    assert "p13" in client.get("/admin/projects?q=P13").get_data(as_text=True)


def test_preview_shows_the_claims_for_the_admin(client, make_project, signed_in_admin):
    make_project("shop", custom_claims={"tier": 2})
    page = client.get("/admin/projects/shop/preview").get_data(as_text=True)
    assert signed_in_admin.public_id in page
    assert '"sm-session-server": "dh.soulmachines.cloud"' in page
    assert '"tier": 2' in page
    assert '"alg": "HS256"' in page


def test_preview_issues_a_real_test_token(client, forms, make_project, signed_in_admin):
    make_project("shop")
    page = forms.post("/admin/projects/shop/preview").get_data(as_text=True)
    token = page.split('<pre id="test-token" tabindex="0">')[1].split("</pre>")[0]
    claims = jwt.decode(token, HS256_KEY, algorithms=["HS256"])
    assert claims["user_id"] == signed_in_admin.public_id


def test_a_test_token_is_logged_counted_and_audited(
    app, client, forms, make_project, signed_in_admin, caplog
):
    make_project("shop")
    page = forms.post("/admin/projects/shop/preview").get_data(as_text=True)
    token = page.split('<pre id="test-token" tabindex="0">')[1].split("</pre>")[0]
    claims = jwt.decode(token, HS256_KEY, algorithms=["HS256"])
    assert any(
        record.getMessage().startswith("token issued: project shop")
        and claims["jti"] in record.getMessage()
        for record in caplog.records
    )
    metrics = client.get("/metrics").get_data(as_text=True)
    assert metric_value(metrics, "webapp_tokens_issued_total", project="shop") == 1
    with app.app_context():
        event = db.session.scalar(db.select(AuditEvent).filter_by(action="issue_test_token"))
        assert event.actor_id == signed_in_admin.id and event.target_label == "shop"
        assert {name: change["after"] for name, change in event.changes.items()} == {
            "jti": claims["jti"],
            "exp": claims["exp"],
        }
    assert "issue test token" in client.get("/admin/audit").get_data(as_text=True)


def test_a_disabled_project_gets_no_test_token(app, client, forms, make_project, signed_in_admin):
    make_project("shop", enabled=False)
    assert "This project is disabled" in client.get("/admin/projects/shop/preview").get_data(
        as_text=True
    )
    page = forms.post("/admin/projects/shop/preview").get_data(as_text=True)
    assert 'id="test-token"' not in page
    assert "no test token is issued. Enable it first." in page
    with app.app_context():
        assert db.session.scalar(db.select(AuditEvent).filter_by(action="issue_test_token")) is None


def test_preview_shows_text_as_written(client, make_project, signed_in_admin):
    make_project("shop", custom_claims={"team": "Zoë – support"})
    page = html.unescape(client.get("/admin/projects/shop/preview").get_data(as_text=True))
    assert '"team": "Zoë – support"' in page


def test_preview_of_a_broken_project_says_why(app, client, make_project):
    make_project("shop", orchestration_url="wss://orch.example.com")
    with app.app_context():
        db.session.execute(db.update(Project).values(control_via_browser=True))
        db.session.commit()
    page = client.get("/admin/projects/shop/preview").get_data(as_text=True)
    assert "This project cannot issue tokens" in page
    assert "Control via browser is only allowed in development projects." in page


def test_nan_typed_as_a_value_is_text(app, forms):
    create(forms, custom_claims="mood = NaN")
    assert stored(app).custom_claims == {"mood": "NaN"}


@pytest.mark.parametrize("version", ["abc", None])
def test_a_form_without_a_believable_version_is_stale(app, forms, version):
    create(forms)
    response = forms.post(
        "/admin/projects/shop", edit_data(stored(app), issuer="x", version=version)
    )
    assert "changed by someone else since you opened it" in response.get_data(as_text=True)
    assert stored(app).issuer == "sm-abcdef123456789"


def test_search_takes_wildcards_literally(client, make_project):
    make_project("shop")
    assert "No project matches" in client.get("/admin/projects?q=_").get_data(as_text=True)
    assert "No project matches" in client.get("/admin/projects?q=%25").get_data(as_text=True)
