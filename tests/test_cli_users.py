"""`flask --app webapp users …`, as ops type it."""

from webapp.extensions import db
from webapp.models import AuditEvent, User

PASSWORD = "a long enough password"


def user(app, email: str) -> User | None:
    with app.app_context():
        return User.by_email(email)


def test_create_admin_from_stdin(app, runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "Ops@Example.com",
            "--admin",
            "--locale",
            "de_de",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created admin ops@example.com." in result.output
    created = user(app, "ops@example.com")
    assert created.is_admin and created.locale == "de-DE" and created.check_password(PASSWORD)
    with app.app_context():
        event = db.session.scalar(db.select(AuditEvent))
        assert event.action == "create" and event.actor_id is None


def test_create_prompts_for_the_password(app, runner):
    result = runner.invoke(
        args=["users", "create", "ada@example.com"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert not user(app, "ada@example.com").is_admin


def test_create_refuses_bad_input(app, runner, make_user):
    make_user("taken@example.com")
    cases = [
        (["taken@EXAMPLE.com"], PASSWORD, "already has an account"),
        (["not-an-email"], PASSWORD, "Invalid value"),
        (["ada@example.com", "--locale", "xx-YY"], PASSWORD, "is not a locale we know"),
        (["ada@example.com"], "short", "at least 12 characters"),
    ]
    for args, password, message in cases:
        result = runner.invoke(
            args=["users", "create", *args, "--password-stdin"], input=password + "\n"
        )
        assert result.exit_code != 0, args
        assert message in result.output, result.output
    assert user(app, "ada@example.com") is None


def test_list_set_admin_disable_enable(app, runner, make_user, admin):
    make_user("ada@example.com")
    assert "ada@example.com" in runner.invoke(args=["users", "list"]).output
    assert runner.invoke(args=["users", "set-admin", "ada@example.com"]).exit_code == 0
    assert user(app, "ada@example.com").is_admin
    assert runner.invoke(args=["users", "disable", "ada@example.com"]).exit_code == 0
    assert not user(app, "ada@example.com").is_active
    assert "disabled" in runner.invoke(args=["users", "list"]).output
    assert runner.invoke(args=["users", "enable", "ada@example.com"]).exit_code == 0
    assert user(app, "ada@example.com").is_active


def test_disabling_the_last_admin_is_refused(app, runner, admin):
    result = runner.invoke(args=["users", "disable", admin.email])
    assert result.exit_code == 1
    assert "There must stay at least one active admin." in result.output
    assert user(app, admin.email).is_active


def test_unknown_email(runner):
    result = runner.invoke(args=["users", "enable", "nobody@example.com"])
    assert result.exit_code == 1 and "No user has the email" in result.output
