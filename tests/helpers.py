"""Helpers the tests share: settings, constants, and a browser-like form poster.

Tests import these from here (`from helpers import …`); conftest.py holds only fixtures."""

import os
import re
from pathlib import Path

import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from werkzeug.security import generate_password_hash

from webapp.extensions import db

MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")
PASSWORD = "correct horse battery staple"
# Hashing once keeps scrypt's deliberate slowness out of every test that makes a user.
PASSWORD_HASH = generate_password_hash(PASSWORD, method="scrypt")
ENCRYPTION_KEY = Fernet.generate_key().decode()
HS256_KEY = "k" * 32
# Long enough for production's rule, so a test may build a production app with it.
SECRET_KEY = "test secret key, long enough for production"

# Debian's Chromium, driven by Playwright (whose own browser download cannot work here).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
HOW_TO_ENABLE = (
    "browser tests need Chromium and Playwright: install Debian's chromium "
    "(apt-get install chromium) and the test extras (pip install -e '.[test]')"
)


def app_settings(database_url: str, **overrides) -> dict:
    return {
        "TESTING": True,
        "DEPLOYMENT": "development",
        "SECRET_KEY": SECRET_KEY,
        "SECRETS_ENCRYPTION_KEYS": ENCRYPTION_KEY,
        "SQLALCHEMY_DATABASE_URI": database_url,
        **overrides,
    }


def using_postgresql() -> bool:
    return bool(os.environ.get("TEST_DATABASE_URL"))


def app_environment_variables() -> list[str]:
    """The developer's own settings, which must not leak into the suite."""
    return [name for name in os.environ if name.startswith("FLASK_") or name == "DATABASE_URL"]


def delete_all_rows(database_url: str) -> None:
    """Empty every table; tests share one migrated database."""
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        for table in reversed(db.metadata.sorted_tables):
            connection.execute(table.delete())
    engine.dispose()


def saved(app: Flask, instance):
    """Commit a new row and hand it back detached, its columns loaded, for the test to read."""
    with app.app_context():
        db.session.add(instance)
        db.session.commit()
        db.session.refresh(instance)
        db.session.expunge(instance)
    return instance


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


class Forms:
    """Submits forms the way a browser does: fetch the page for its CSRF token, then post."""

    def __init__(self, client: FlaskClient):
        self.client = client

    def post(self, url: str, data: dict | None = None, *, page: str | None = None, **kwargs):
        token = csrf_token_from(self.client.get(page or url).get_data(as_text=True))
        return self.client.post(url, data={"csrf_token": token, **(data or {})}, **kwargs)


def metric_value(text: str, name: str, **labels) -> float | None:
    """One sample's value in Prometheus text, or None when it is not there."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return None


def setup_link(app) -> str:
    """The path of a fresh one-time /setup link, as `flask setup-link` prints it."""
    result = app.test_cli_runner().invoke(
        args=["setup-link", "--base-url", "http://127.0.0.1:5000"]
    )
    assert result.exit_code == 0
    match = re.search(r"http://127\.0\.0\.1:5000(/setup\?code=\S+)", result.stdout)
    assert match, result.stdout
    return match.group(1)
