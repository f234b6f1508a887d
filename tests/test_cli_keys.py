"""`flask --app webapp keys rotate`: every stored secret under the first key, in batches,
safe to interrupt and to run again, without touching versions, timestamps or the audit."""

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from helpers import ENCRYPTION_KEY, HS256_KEY

from webapp.extensions import db
from webapp.models import AuditEvent, Project, User
from webapp.secret_box import secret_box
from webapp.services.secrets import rotate_secrets

NEW_KEY = Fernet.generate_key().decode()


def stored(app) -> dict[str, tuple]:
    with app.app_context():
        projects = db.session.scalars(db.select(Project))
        return {p.slug: (p.signing_key_encrypted, p.version, p.updated_at) for p in projects}


def readable_with(key: str, token: str) -> bool:
    try:
        Fernet(key).decrypt(token)
    except InvalidToken:
        return False
    return True


@pytest.fixture
def rotating_app(make_app):
    """The same database, configured for a rotation: the new key first, the old one after."""
    return make_app(SECRETS_ENCRYPTION_KEYS=f"{NEW_KEY},{ENCRYPTION_KEY}")


def test_rotate_re_encrypts_under_the_first_key_and_nothing_else(
    app, make_project, rotating_app, make_app
):
    for slug in ("a", "b", "c"):
        make_project(slug)
    before = stored(app)
    result = rotating_app.test_cli_runner().invoke(args=["keys", "rotate", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    assert "3 re-encrypted, 0 already under the first key." in result.output
    after = stored(app)
    for slug, (token, version, updated_at) in after.items():
        assert readable_with(NEW_KEY, token) and not readable_with(ENCRYPTION_KEY, token)
        assert (version, updated_at) == before[slug][1:]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(AuditEvent)) == 0
    # With the old key dropped, every project still signs.
    new_only = make_app(SECRETS_ENCRYPTION_KEYS=NEW_KEY)
    with new_only.app_context():
        assert {p.decrypt_signing_key() for p in db.session.scalars(db.select(Project))} == {
            HS256_KEY
        }


def test_a_second_run_only_counts(make_project, rotating_app):
    make_project("a")
    runner = rotating_app.test_cli_runner()
    assert runner.invoke(args=["keys", "rotate"]).exit_code == 0
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0
    assert "0 re-encrypted, 1 already under the first key." in result.output


def test_an_interrupted_rotation_leaves_every_secret_readable_and_resumes(
    app, make_project, rotating_app
):
    for slug in ("a", "b", "c"):
        make_project(slug)

    def interrupt(done: int) -> None:
        raise KeyboardInterrupt

    with rotating_app.app_context(), pytest.raises(KeyboardInterrupt):
        rotate_secrets(1, interrupt)  # stops after the first batch is committed
    tokens = [token for token, _, _ in stored(app).values()]
    assert sum(readable_with(NEW_KEY, token) for token in tokens) == 1
    assert all(readable_with(NEW_KEY, t) or readable_with(ENCRYPTION_KEY, t) for t in tokens)
    result = rotating_app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "2 re-encrypted, 1 already under the first key." in result.output


def test_an_unreadable_secret_is_named_and_fails_but_the_others_rotate(
    app, make_project, rotating_app
):
    make_project("good")
    make_project("lost")
    with app.app_context():
        stranger = Fernet(Fernet.generate_key()).encrypt(HS256_KEY.encode()).decode()
        db.session.execute(
            sa.update(Project).where(Project.slug == "lost").values(signing_key_encrypted=stranger)
        )
        db.session.commit()
    result = rotating_app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 1
    assert "1 re-encrypted, 0 already under the first key, 1 unreadable." in result.stdout
    assert "lost: no key in SECRETS_ENCRYPTION_KEYS can decrypt its secret" in result.stderr
    assert "Traceback" not in result.output
    assert readable_with(NEW_KEY, stored(app)["good"][0])
    assert stored(app)["lost"][0] == stranger


def test_rotate_with_nothing_stored(runner):
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "0 re-encrypted, 0 already under the first key." in result.output


def test_rotate_re_encrypts_two_factor_secrets_too(app, make_user, rotating_app):
    with app.app_context():
        secret = secret_box.encrypt("JBSWY3DPEHPK3PXP")
    user = make_user("ada@example.com", totp_secret_encrypted=secret)
    make_user("bob@example.com")  # no second factor: nothing to rotate
    result = rotating_app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "1 re-encrypted, 0 already under the first key." in result.output
    with app.app_context():
        token = db.session.get(User, user.id).totp_secret_encrypted
    assert readable_with(NEW_KEY, token) and not readable_with(ENCRYPTION_KEY, token)
