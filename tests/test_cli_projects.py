"""`flask --app webapp projects list | check | export`, and the round trip through import."""

import json

import sqlalchemy as sa
from helpers import HS256_KEY

from webapp.extensions import db
from webapp.models import AuditEvent, Project
from webapp.rules.encryption import fingerprint


def break_project(app, **columns) -> None:
    """Write straight to the table, as a hand edit or an old version would."""
    with app.app_context():
        db.session.execute(sa.update(Project).values(**columns))
        db.session.commit()


def test_list_shows_each_project_on_one_line(runner, make_project):
    make_project("shop", is_default=True)
    make_project("lab", enabled=False, environment="development")
    result = runner.invoke(args=["projects", "list"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"lab\tLab\tdevelopment\tdisabled\t{fingerprint(HS256_KEY)}",
        f"shop\tShop\tproduction\tenabled,default\t{fingerprint(HS256_KEY)}",
    ]


def test_check_passes_good_projects_with_a_summary(runner, make_project):
    make_project("shop")
    result = runner.invoke(args=["projects", "check"])
    assert result.exit_code == 0, result.output
    assert result.output == "1 project checked: every rule passes.\n"


def test_check_reports_each_problem_in_words_and_fails(app, runner, make_project):
    make_project("shop")
    make_project("lab")
    with app.app_context():
        db.session.execute(
            sa.update(Project)
            .where(Project.slug == "shop")
            .values(token_lifetime=5, signing_key_encrypted="gAAAAA-not-a-fernet-token")
        )
        db.session.commit()
    result = runner.invoke(args=["projects", "check"])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "shop: token_lifetime: Choose between 60 and 86,400 seconds.",
        "shop: signing_key: The stored key cannot be decrypted: enter it again.",
    ]
    assert "2 problems in 1 of 2 projects" in result.stderr
    assert "Traceback" not in result.output


def test_export_is_json_alone_on_stdout_without_keys(runner, make_project):
    make_project("shop", custom_claims={"tier": "gold"}, allowed_origins=["https://a.example"])
    result = runner.invoke(args=["projects", "export"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    document = json.loads(result.stdout)
    assert document["format"] == 1
    (entry,) = document["projects"]
    assert list(entry) == [*Project.SETTINGS, "signing_key_fingerprint"]
    assert entry["algorithm"] == "HS256" and entry["custom_claims"] == {"tier": "gold"}
    assert entry["signing_key_fingerprint"] == fingerprint(HS256_KEY)
    assert HS256_KEY not in result.output


def test_export_with_secrets_carries_the_key_and_warns(runner, make_project):
    make_project("shop")
    result = runner.invoke(args=["projects", "export", "--with-secrets"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["projects"][0]["signing_key"] == HS256_KEY
    assert "signing keys in clear" in result.stderr


def test_export_with_secrets_refuses_when_a_key_is_unreadable(app, runner, make_project):
    make_project("shop")
    break_project(app, signing_key_encrypted="gAAAAA-not-a-fernet-token")
    result = runner.invoke(args=["projects", "export", "--with-secrets"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "decrypts the signing key of: shop" in result.stderr


def state(app) -> list[tuple]:
    with app.app_context():
        projects = db.session.scalars(db.select(Project).order_by(Project.slug))
        return [
            (p.slug, p.version, p.updated_at, p.signing_key_encrypted, p.is_default)
            for p in projects
        ]


def audit_count(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(AuditEvent))


def test_export_then_import_changes_nothing(app, runner, make_project, tmp_path):
    make_project("shop", is_default=True, custom_claims={"b": 1, "a": [1, {"x": None}]})
    make_project("lab", environment="development", allowed_origins=["https://a.example"])
    for secrets in ([], ["--with-secrets"]):
        exported = tmp_path / "projects.json"
        exported.write_text(runner.invoke(args=["projects", "export", *secrets]).stdout)
        before, events = state(app), audit_count(app)
        result = runner.invoke(args=["projects", "import", str(exported)])
        assert result.exit_code == 0, result.output
        assert result.stdout.splitlines() == [
            "lab: unchanged",
            "shop: unchanged",
            "Imported: 0 projects changed.",
        ]
        assert (state(app), audit_count(app)) == (before, events)
