"""`flask --app webapp projects import FILE [--dry-run]`: the admin form's rules, all or
nothing, audited; hostile files are refused in one line and change nothing."""

import json

import pytest
from helpers import HS256_KEY

from webapp.extensions import db
from webapp.models import AuditEvent, Project
from webapp.rules.encryption import fingerprint

SHOP = {
    "name": "Shop",
    "slug": "shop",
    "session_server": "dh.soulmachines.cloud",
    "issuer": "sm-abcdef123456789",
    "signing_key": HS256_KEY,
}
OTHER_KEY = "o" * 32


def document(*projects: dict) -> dict:
    return {"format": 1, "projects": list(projects)}


def run_import(runner, content, *options: str):
    text = content if isinstance(content, str | bytes) else json.dumps(content)
    return runner.invoke(args=["projects", "import", "-", *options], input=text)


def snapshot(app) -> tuple:
    """Everything an import could write."""
    with app.app_context():
        projects = db.session.scalars(db.select(Project).order_by(Project.slug))
        rows = [
            (p.slug, p.version, p.updated_at, p.signing_key_encrypted, p.is_default, p.name)
            for p in projects
        ]
        events = db.session.scalar(db.select(db.func.count()).select_from(AuditEvent))
        return rows, events


def project(app, slug: str) -> Project | None:
    with app.app_context():
        found = db.session.scalar(db.select(Project).filter_by(slug=slug))
        if found is not None:
            found.key = found.decrypt_signing_key()
            db.session.expunge(found)
        return found


def test_creates_and_updates_by_slug_and_audits_as_the_command_line(app, runner, make_project):
    make_project("lab", name="Lab")
    result = run_import(
        runner, document(SHOP, {"slug": "lab", "name": "Laboratory", "token_lifetime": 600})
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "lab: updated (name, token_lifetime)",
        "shop: created",
        "Imported: 2 projects changed.",
    ]
    lab, shop = project(app, "lab"), project(app, "shop")
    assert (lab.name, lab.token_lifetime, lab.key) == ("Laboratory", 600, HS256_KEY)
    assert (shop.name, shop.algorithm, shop.key) == ("Shop", "HS256", HS256_KEY)
    with app.app_context():
        events = db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [(e.target_label, e.action, e.actor_id) for e in events] == [
            ("shop", "create", None),
            ("lab", "update", None),
        ] or [(e.target_label, e.action, e.actor_id) for e in events] == [
            ("lab", "update", None),
            ("shop", "create", None),
        ]
        assert HS256_KEY not in json.dumps([e.changes for e in events])


def test_a_new_key_replaces_the_stored_one_and_no_key_keeps_it(app, runner, make_project):
    make_project("shop")
    make_project("lab")
    result = run_import(
        runner,
        document(
            {**SHOP, "signing_key": OTHER_KEY},
            {"slug": "lab", "name": "Lab", "signing_key": ""},
        ),
    )
    assert result.exit_code == 0, result.output
    assert "shop: updated (signing_key)" in result.stdout
    assert "lab: unchanged" in result.stdout
    assert project(app, "shop").key == OTHER_KEY
    assert project(app, "lab").key == HS256_KEY


def test_dry_run_reports_and_writes_nothing(app, runner, make_project):
    make_project("lab", is_default=True)
    before = snapshot(app)
    result = run_import(runner, document({**SHOP, "is_default": True}), "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "lab: updated (is_default)",
        "shop: created",
        "Dry run: nothing written.",
    ]
    assert snapshot(app) == before


@pytest.mark.parametrize("order", ["new default first", "old default first"])
def test_the_default_moves_between_projects_in_one_import(app, runner, make_project, order):
    make_project("lab", is_default=True)
    make_project("shop")
    entries = [{"slug": "shop", "is_default": True}, {"slug": "lab", "is_default": False}]
    if order == "old default first":
        entries.reverse()
    entries = [{**SHOP, **entry, "name": entry["slug"].title()} for entry in entries]
    result = run_import(runner, document(*entries))
    assert result.exit_code == 0, result.output
    assert project(app, "shop").is_default and not project(app, "lab").is_default


def test_two_defaults_in_one_file_are_refused(app, runner):
    result = run_import(
        runner,
        document({**SHOP, "is_default": True}, {**SHOP, "slug": "lab", "is_default": True}),
    )
    assert result.exit_code == 1
    assert "shop: is_default: The file makes more than one project the default." in result.stderr
    assert "lab: is_default: The file makes more than one project the default." in result.stderr
    assert snapshot(app) == ([], 0)


def test_every_problem_of_every_project_is_printed_and_nothing_is_written(
    app, runner, make_project
):
    make_project("lab")
    before = snapshot(app)
    result = run_import(
        runner,
        document(
            {"slug": "lab", "name": "Renamed"},  # fine on its own: still not written
            {**SHOP, "token_lifetime": "1800", "colour": "red"},
            {**SHOP, "slug": "new-one", "signing_key": None, "issuer": ""},
        ),
    )
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "shop: colour: “colour” is not a project setting.",
        "new-one: issuer: Enter the key name Soul Machines assigned, e.g. sm-abcdef123456789.",
        "new-one: signing_key: Enter the signing key. It is the one Soul Machines shared with you.",
        "Error: Nothing imported: 3 problems.",
    ]
    assert snapshot(app) == before


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({**SHOP, "token_lifetime": "1800"}, "shop: token_lifetime: Choose between"),
        ({**SHOP, "token_lifetime": 1800.0}, "shop: token_lifetime: Choose between"),
        ({**SHOP, "enabled": 1}, "shop: enabled: Choose true or false."),
        ({**SHOP, "is_default": "true"}, "shop: is_default: Choose true or false."),
        ({**SHOP, "allowed_origins": "https://a.example"}, "shop: allowed_origins: "),
        ({**SHOP, "custom_claims": [["a", 1]]}, "shop: custom_claims: "),
        ({**SHOP, "name": "Sh\u0000op"}, "shop: name: Enter one line of text"),
        ({**SHOP, "issuer": "sm-\u0000"}, "shop: issuer: "),
        ({**SHOP, "control_cookie_header": "a=b\u0000"}, "shop: control_cookie_header: "),
        ({**SHOP, "slug": "sh\u0000op"}, "projects[0]: slug: Use lower-case letters"),
        ({**SHOP, "slug": 7}, "projects[0]: slug: This field is required."),
        ({**SHOP, "signing_key": 7}, "shop: signing_key: Enter the signing key."),
        ({**SHOP, "id": 5}, "shop: id: “id” is not a project setting."),
        ({**SHOP, "signing_key_encrypted": "x"}, "shop: signing_key_encrypted: “signing_key_"),
        ({**SHOP, "version": 9}, "shop: version: “version” is not a project setting."),
        ({k: v for k, v in SHOP.items() if k != "signing_key"}, "shop: signing_key: Enter"),
        (["shop"], "projects[0]: project: Each project must be a JSON object of settings."),
        (None, "projects[0]: project: Each project must be a JSON object"),
    ],
)
def test_hostile_projects_are_refused_by_name(app, runner, entry, expected):
    result = run_import(runner, document(entry))
    assert result.exit_code == 1
    assert expected in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert snapshot(app) == ([], 0)


def test_a_weak_key_is_saved_with_a_warning(app, runner):
    result = run_import(runner, document({**SHOP, "signing_key": "s" * 20}))
    assert result.exit_code == 0, result.output
    assert "shop: signing_key: warning: This key is 20 bytes" in result.stderr
    assert project(app, "shop").key == "s" * 20


def test_duplicate_slugs_in_one_file_are_refused(app, runner):
    result = run_import(runner, document(SHOP, {**SHOP, "name": "Again"}))
    assert result.exit_code == 1
    assert "shop: slug: The file has this slug more than once." in result.stderr
    assert snapshot(app) == ([], 0)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "not valid JSON"),
        ("{", "not valid JSON"),
        ('{"format": 1, "projects": []', "not valid JSON"),
        ("[]", "must be a JSON object"),
        ('"projects"', "must be a JSON object"),
        ('{"projects": []}', "“format” must be 1"),
        ('{"format": true, "projects": []}', "“format” must be 1"),
        ('{"format": 1.0, "projects": []}', "“format” must be 1"),
        ('{"format": 2, "projects": []}', "“format” must be 1"),
        ('{"format": 1}', "“projects” must be a list"),
        ('{"format": 1, "projects": {"shop": {}}}', "“projects” must be a list"),
        ('{"format": 1, "projects": [], "owner": "x"}', "unknown top-level field “owner”"),
        ('{"format": 1, "projects": [], "format ": 1}', "unknown top-level field “format ”"),
        ('{"format": 1, "projects": [{"token_lifetime": ' + "9" * 5000 + "}]}", "not valid JSON"),
        ('{"format": 1, "projects": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
        ('{"format": 1, "projects": [{"name": "\u0000"}]}', "not valid JSON"),
        ('{"format": 1, "projects": [{"name": "\\ud800"}]}', "not UTF-8 text"),
        (b'{"format": 1, "projects": [{"name": "\xff"}]}', "not UTF-8 text"),
        ("NaN", "must be a JSON object"),
    ],
)
def test_files_that_are_not_the_format_are_refused_in_one_line(app, runner, content, expected):
    result = run_import(runner, content)
    assert result.exit_code == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert expected in line, line
    assert line.startswith("Error: <stdin>: ") or line.startswith("Error: -: "), line
    assert snapshot(app) == ([], 0)


def test_deep_nesting_inside_a_claim_is_judged_not_crashed(app, runner):
    """Issue 8: custom claims nest at most MAX_CLAIM_DEPTH levels; deeper is a refusal, said
    in one line, never a RecursionError (500 deep parses, and would fail at flush)."""
    deep = json.loads("[" * 500 + "]" * 500)
    result = run_import(runner, document({**SHOP, "custom_claims": {"deep": deep}}))
    assert result.exit_code == 1
    assert "nests lists and objects more than 16 levels deep" in result.output
    assert "Traceback" not in result.output
    assert project(app, "shop") is None


def test_a_nul_in_a_claim_value_is_refused(app, runner):
    """Issue 8: a NUL never reaches a token (SQLite stored it and signed it)."""
    result = run_import(runner, document({**SHOP, "custom_claims": {"note": "a\u0000b"}}))
    assert result.exit_code == 1
    assert "NUL" in result.output
    assert project(app, "shop") is None


def test_a_missing_file_is_one_line(runner, tmp_path):
    result = runner.invoke(args=["projects", "import", str(tmp_path / "absent.json")])
    assert result.exit_code == 2
    assert "Traceback" not in result.output and "absent.json" in result.output


def test_the_fingerprint_in_a_file_is_only_informational(app, runner, make_project):
    make_project("shop")
    result = run_import(runner, document({**SHOP, "signing_key_fingerprint": "00000000"}))
    assert result.exit_code == 0, result.output
    assert project(app, "shop").signing_key_fingerprint == fingerprint(HS256_KEY)
