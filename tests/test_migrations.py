"""The migrations build, tear down and rebuild the schema, and agree with the models."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from helpers import MIGRATIONS, app_settings

from webapp import create_app
from webapp.extensions import db

TABLES = {"users", "projects", "audit_events", "recovery_codes"}


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
