"""`flask --app webapp tokens issue --project SLUG --user EMAIL`, for debugging a deployment."""

import jwt
import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import Project


def test_prints_a_token_signed_like_the_endpoints(runner, make_project, make_user, caplog):
    make_project("shop", custom_claims={"tier": "gold"})
    user = make_user("Ada@example.com", locale="de-DE")
    result = runner.invoke(
        args=["tokens", "issue", "--project", "shop", "--user", "ADA@example.com"]
    )
    assert result.exit_code == 0, result.output
    assert "Note" not in result.stderr  # stderr has the log line only
    claims = jwt.decode(
        result.stdout.strip(), "k" * 32, algorithms=["HS256"], issuer="sm-abcdef123456789"
    )
    assert claims["user_id"] == user.public_id
    assert claims["locale"] == "de-DE" and claims["tier"] == "gold"
    assert claims["sm-session-server"] == "dh.soulmachines.cloud"
    (record,) = [r for r in caplog.records if r.name == "webapp.tokens"]
    assert (record.outcome, record.jti, record.user_id) == ("issued", claims["jti"], user.public_id)
    assert result.stdout.strip() not in caplog.text


def test_notes_a_disabled_project_or_user_on_stderr(runner, make_project, make_user):
    make_project("shop", enabled=False)
    make_user(is_active=False)
    result = runner.invoke(
        args=["tokens", "issue", "--project", "shop", "--user", "user@example.com"]
    )
    assert result.exit_code == 0, result.output
    assert "shop is disabled" in result.stderr and "user@example.com is disabled" in result.stderr
    assert result.stdout.count(".") == 2  # the token alone


def test_unknown_project_or_user_is_one_line(runner, make_project, make_user):
    make_project("shop")
    make_user()
    for args, message in [
        (["--project", "nope", "--user", "user@example.com"], "No project has the slug nope."),
        (
            ["--project", "shop", "--user", "who@example.com"],
            "No user has the email who@example.com.",
        ),
        (["--project", "shop", "--user", "not an email"], "No user has the email not an email."),
        (["--project", "sh\x00op", "--user", "user@example.com"], "No project has the slug sh"),
        (["--project", "shop", "--user", "a\x00@example.com"], "No user has the email a"),
    ]:
        result = runner.invoke(args=["tokens", "issue", *args])
        assert result.exit_code == 1
        assert result.stdout == ""
        assert result.stderr.startswith(f"Error: {message}"), result.stderr
        assert len(result.stderr.splitlines()) == 1


def test_a_project_that_cannot_sign_says_why(app, runner, make_project, make_user):
    make_project("shop")
    make_user()
    with app.app_context():
        db.session.execute(sa.update(Project).values(signing_key_encrypted="gAAAA-broken"))
        db.session.commit()
    result = runner.invoke(
        args=["tokens", "issue", "--project", "shop", "--user", "user@example.com"]
    )
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert "project 'shop' cannot sign" in line and "cannot be decrypted" in line
