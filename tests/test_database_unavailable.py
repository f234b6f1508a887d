"""An unreachable database answers 503 (JSON for scripts, a plain page for people) at once,
never a traceback; PostgreSQL connections give up after a connect timeout."""

import pytest
import sqlalchemy as sa
from helpers import app_settings

from webapp import create_app
from webapp.models.reachability import database_unreachable

POSTGRESQL = "postgresql+psycopg://app@db.internal/issuer"


def engine_options(tmp_path, url: str, **overrides) -> dict:
    app = create_app(app_settings(url, **overrides), instance_path=str(tmp_path))
    return app.config["SQLALCHEMY_ENGINE_OPTIONS"]


def test_postgresql_connections_time_out_by_default(tmp_path):
    options = engine_options(tmp_path, POSTGRESQL)
    assert options["connect_args"] == {"connect_timeout": 5}
    assert options["pool_pre_ping"] is True  # a connection that died is replaced, not used


@pytest.mark.parametrize(
    ("url", "options", "expected"),
    [
        (f"{POSTGRESQL}?connect_timeout=2", {}, None),
        (POSTGRESQL, {"connect_args": {"connect_timeout": 9}}, {"connect_timeout": 9}),
        (
            POSTGRESQL,
            {"connect_args": {"application_name": "issuer"}},
            {"connect_timeout": 5, "application_name": "issuer"},
        ),
        ("sqlite:///issuer.sqlite3", {}, None),
    ],
)
def test_a_timeout_given_wins_and_sqlite_gets_none(tmp_path, url, options, expected):
    given = engine_options(tmp_path, url, SQLALCHEMY_ENGINE_OPTIONS=options)
    assert given.get("connect_args") == expected


@pytest.fixture
def app_without_database(tmp_path):
    """SQLite cannot open a file in a folder that does not exist: the database is away."""
    url = f"sqlite:///{tmp_path / 'missing' / 'webapp.sqlite3'}"
    return create_app(app_settings(url, TESTING=False), instance_path=str(tmp_path))


@pytest.fixture
def signed_in_client(app_without_database):
    client = app_without_database.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "some-public-id:1"  # loading this user needs the database
    return client


def test_the_token_endpoint_answers_503_json(signed_in_client):
    answer = signed_in_client.get("/auth/authorize?project=demo")
    assert answer.status_code == 503
    assert answer.get_json() == {
        "success": False,
        "error": "The service cannot reach its database right now. Try again shortly.",
    }
    assert answer.headers["Retry-After"] == "5"
    assert answer.headers["Cache-Control"] == "no-store"  # the token endpoint's own headers
    assert "Origin" in answer.headers["Vary"]


def test_health_answers_503_json(signed_in_client):
    answer = signed_in_client.get("/healthz")
    assert answer.status_code == 503
    assert answer.get_json() == {"status": "unavailable", "failing": "database"}


def test_a_page_answers_a_plain_503_page_and_logs_why(signed_in_client, caplog):
    answer = signed_in_client.get("/", headers={"Accept": "text/html"})
    assert answer.status_code == 503
    assert answer.mimetype == "text/html"
    page = answer.get_data(as_text=True)
    assert "503 · Service Unavailable" in page
    assert "cannot reach its database" in page
    assert "Traceback" not in page and "sqlite" not in page.lower()
    assert any(
        record.levelname == "ERROR" and record.getMessage().startswith("database unavailable:")
        for record in caplog.records
    )


def sqlite_error(url: str, statement: str):
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text(statement))
    except sa.exc.OperationalError as error:
        return error
    finally:
        engine.dispose()
    raise AssertionError("the statement did not fail")


def test_a_wrong_query_is_a_bug_not_an_outage(tmp_path):
    """SQLite words both as OperationalError; only one of them is the database being away."""
    away = sqlite_error(f"sqlite:///{tmp_path / 'missing' / 'x.sqlite3'}", "SELECT 1")
    wrong = sqlite_error("sqlite://", "SELECT no_column")
    assert database_unreachable(away) is True
    assert database_unreachable(wrong) is False
