"""Fixtures: an app on a migrated database (SQLite, or PostgreSQL with TEST_DATABASE_URL),
its test client and CLI runner, and signed-in users. Shared helpers live in helpers.py."""

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from helpers import (
    ABUSE,
    HS256_KEY,
    MAIL_PUBLIC_URL,
    MIGRATIONS,
    PASSWORD,
    PASSWORD_HASH,
    Forms,
    app_environment_variables,
    app_settings,
    delete_all_rows,
    saved,
)
from mail_server import Inbox, start_server, stop_server
from werkzeug.serving import make_server

from webapp import create_app
from webapp.extensions import db
from webapp.models import Project, User
from webapp.observability.metrics import usage_of


def pytest_unconfigure(config: pytest.Config) -> None:
    """The abuse figures, as the very last line of the run."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and ABUSE.cases:
        reporter.write_line(ABUSE.line())


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own FLASK_ settings must not leak into the suite."""
    for name in app_environment_variables():
        monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One database for the session, built by the migrations, not by create_all."""
    url = os.environ.get("TEST_DATABASE_URL") or (
        f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    )
    app = create_app(app_settings(url), instance_path=str(tmp_path_factory.mktemp("instance")))
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        upgrade(directory=MIGRATIONS)
        db.engine.dispose()
    return url


@pytest.fixture
def scratch_database_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of the suite's kind, for tests that build and drop the schema."""
    main_url = os.environ.get("TEST_DATABASE_URL")
    if not main_url:
        yield f"sqlite:///{tmp_path / 'scratch.sqlite3'}"
        return
    schema = f"scratch_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(main_url)
    with engine.begin() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in main_url else "?"
    yield f"{main_url}{separator}options=-csearch_path%3D{schema}"
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


@pytest.fixture
def make_app(database_url: str, tmp_path: Path) -> Iterator:
    """Build apps on the test database; rows written by a test are removed after it."""
    apps: list[Flask] = []

    def make(**overrides) -> Flask:
        instance = tmp_path / f"instance{len(apps)}"
        app = create_app(app_settings(database_url, **overrides), instance_path=str(instance))
        apps.append(app)
        return app

    yield make
    for app in apps:  # no usage counted by a test is written after its rows are gone
        usage_of(app).close()
    delete_all_rows(database_url)
    for app in apps:
        with app.app_context():
            db.engine.dispose()
        app.extensions["token_reads"].dispose()


@pytest.fixture
def app(make_app) -> Flask:
    """The app, with no context pushed: each test request gets its own, as in production."""
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app: Flask):
    def make(email: str = "user@example.com", **fields) -> User:
        return saved(app, User(email=email, password_hash=PASSWORD_HASH, **fields))

    return make


@pytest.fixture
def make_project(app: Flask):
    def make(slug: str = "demo", key: str = HS256_KEY, **fields) -> Project:
        values = {
            "name": slug.title(),
            "session_server": "dh.soulmachines.cloud",
            "issuer": "sm-abcdef123456789",
            "allowed_origins": [],
            "custom_claims": {},
            **fields,
        }
        project = Project(slug=slug, **values)
        with app.app_context():
            project.set_signing_key(key)
        return saved(app, project)

    return make


@pytest.fixture
def inbox():
    """A real SMTP server in the test process: (its inbox, its port)."""
    inbox = Inbox()
    server = start_server(inbox)
    yield inbox, server.port
    stop_server(server)


@pytest.fixture
def mail_app(make_app, inbox):
    """An app that mails through `inbox`'s server."""
    _, port = inbox
    return make_app(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=port,
        MAIL_DEFAULT_SENDER="issuer@example.com",
        PUBLIC_URL=MAIL_PUBLIC_URL,
    )


@pytest.fixture
def forms(client: FlaskClient) -> Forms:
    return Forms(client)


@pytest.fixture
def login(client: FlaskClient, forms: Forms):
    def sign_in(user: User, password: str = PASSWORD, **extra):
        response = forms.post("/login", {"email": user.email, "password": password, **extra})
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    return sign_in


@pytest.fixture
def user(make_user) -> User:
    return make_user()


@pytest.fixture
def signed_in_user(user: User, login) -> User:
    login(user)
    return user


@pytest.fixture
def admin(make_user) -> User:
    return make_user("admin@example.com", is_admin=True)


@pytest.fixture
def signed_in_admin(admin: User, login) -> User:
    login(admin)
    return admin


@pytest.fixture(scope="session")
def signing_keys() -> dict[str, tuple[str, object]]:
    """Per algorithm: (the key an admin enters, the key that verifies its signatures)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    def pem(private) -> str:
        return private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    return {
        "HS256": ("h" * 32, "h" * 32),
        "HS384": ("i" * 48, "i" * 48),
        "HS512": ("j" * 64, "j" * 64),
        "RS256": (pem(rsa_key), rsa_key.public_key()),
        "ES256": (pem(ec_key), ec_key.public_key()),
    }


@pytest.fixture
def served(make_app) -> Iterator:
    """`served(app)` serves the app on 127.0.0.1 on a free port; answers (host, port)."""
    servers = []

    def serve(app):
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="test-server")
        thread.start()
        servers.append((server, thread))
        return "127.0.0.1", server.server_port

    yield serve
    for server, thread in servers:
        server.shutdown()
        thread.join()
        server.server_close()


@pytest.fixture(scope="session")
def oidc_provider_folder() -> Path:
    """oidc-provider installed once (tests/identity_provider.py); skips without npm."""
    from identity_provider import install

    return install()


@pytest.fixture
def make_identity_provider(oidc_provider_folder: Path, tmp_path: Path) -> Iterator:
    """`make_identity_provider(clients, accounts)` starts a real OpenID Provider on a loopback
    port; every one is stopped after the test."""
    from identity_provider import IdentityProvider

    providers = []

    def make(clients, accounts=None):
        provider = IdentityProvider(oidc_provider_folder, tmp_path, clients, accounts or {})
        providers.append(provider)
        return provider.start()

    yield make
    for provider in providers:
        provider.stop()
