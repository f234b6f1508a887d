"""The migrations build, tear down and rebuild the schema, and agree with the models."""

import hashlib

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from helpers import MIGRATIONS, SECRET_KEY, app_settings

from webapp import create_app
from webapp.extensions import db
from webapp.rules import totp

TABLES = {
    "users",
    "projects",
    "audit_events",
    "recovery_codes",
    "token_usage",
    "sign_in_usage",
}


def tables(app) -> set[str]:
    return set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}


def drift(app) -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        return compare_metadata(context, db.metadata)


def test_upgrade_downgrade_upgrade(scratch_database_url, tmp_path):
    app = create_app(app_settings(scratch_database_url), instance_path=str(tmp_path))
    with app.app_context():
        assert tables(app) == set()
        upgrade(directory=MIGRATIONS)
        assert tables(app) == TABLES
        assert drift(app) == []
        downgrade(directory=MIGRATIONS, revision="base")
        assert tables(app) == set()
        upgrade(directory=MIGRATIONS)
        assert tables(app) == TABLES
        assert drift(app) == []
        db.engine.dispose()


def test_db_check_reports_no_drift(app):
    result = app.test_cli_runner().invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output


def test_db_check_fails_on_an_unmigrated_database(scratch_database_url, tmp_path):
    app = create_app(app_settings(scratch_database_url), instance_path=str(tmp_path))
    result = app.test_cli_runner().invoke(args=["db", "check"])
    assert result.exit_code != 0
    with app.app_context():
        db.engine.dispose()  # no connection left for the garbage collector to find open


def test_recovery_codes_kept_the_old_way_are_keyed_and_still_work(scratch_database_url, tmp_path):
    """e3c1a7d2b9f4: a plain SHA-256 in the database becomes the keyed hash of the same code."""
    code = "abcde-fghjk"
    app = create_app(app_settings(scratch_database_url), instance_path=str(tmp_path))
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="ef73d284e5b0")
        plain = hashlib.sha256(b"abcdefghjk").hexdigest()
        with db.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO users (public_id, email, password_hash, locale, is_admin, "
                    "is_active, created_at, session_version) VALUES ('p', 'a@example.com', "
                    "'x', 'en-US', false, true, CURRENT_TIMESTAMP, 1)"
                )
            )
            connection.execute(
                sa.text(
                    "INSERT INTO recovery_codes (user_id, code_hash) SELECT id, :plain FROM users"
                ),
                {"plain": plain},
            )
        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as connection:
            [stored] = connection.execute(sa.text("SELECT code_hash FROM recovery_codes")).all()
        assert stored.code_hash == totp.recovery_code_hash(code, SECRET_KEY) != plain
        downgrade(directory=MIGRATIONS, revision="ef73d284e5b0")
        with db.engine.connect() as connection:
            assert connection.execute(sa.text("SELECT * FROM recovery_codes")).all() == []
        downgrade(directory=MIGRATIONS, revision="base")
        db.engine.dispose()


def test_a_new_sqlite_database_file_is_private(tmp_path):
    database = tmp_path / "webapp.sqlite3"
    app = create_app(app_settings(f"sqlite:///{database}"), instance_path=str(tmp_path / "i"))
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        db.engine.dispose()
    assert database.stat().st_mode & 0o777 == 0o600
