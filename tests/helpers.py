"""Helpers the tests share: settings, constants, and a browser-like form poster.

Tests import these from here (`from helpers import …`); conftest.py holds only fixtures."""

import contextlib
import dataclasses
import http.cookiejar
import os
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from servers import free_port
from werkzeug.security import generate_password_hash
from werkzeug.serving import make_server

from webapp.extensions import db
from webapp.models import Project, User

MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")
PASSWORD = "correct horse battery staple"
# Hashing once keeps scrypt's deliberate slowness out of every test that makes a user.
PASSWORD_HASH = generate_password_hash(PASSWORD, method="scrypt")
ENCRYPTION_KEY = Fernet.generate_key().decode()
HS256_KEY = "k" * 32
# Long enough for production's rule, so a test may build a production app with it.
SECRET_KEY = "test secret key, long enough for production"
MAIL_PUBLIC_URL = "https://tokens.example.com"  # the PUBLIC_URL of apps that send mail

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


class AbuseFigures:
    """What the abuse tests tried and saw, summed up in one line at the end of `make test`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.cases = self.server_errors = self.secrets_found = self.lost_updates = 0

    def add(self, *, cases=0, server_errors=0, secrets_found=0, lost_updates=0) -> None:
        with self.lock:
            self.cases += cases
            self.server_errors += server_errors
            self.secrets_found += secrets_found
            self.lost_updates += lost_updates

    def line(self) -> str:
        return (
            f"abuse: {self.cases:,} cases tried, {self.server_errors} 5xx seen, "
            f"{self.secrets_found} secrets found, {self.lost_updates} lost updates"
        )


ABUSE = AbuseFigures()


@contextlib.contextmanager
def serving(app: Flask):
    """The app served by werkzeug's threaded server on 127.0.0.1, in a background thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="test-server")
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


class KeepRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the caller reads the 302 itself


@dataclasses.dataclass
class HttpAnswer:
    status: int
    text: str
    headers: dict


class HttpSession:
    """A browser's worth of cookies talking to a real server; redirects are not followed."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), KeepRedirects
        )

    def request(self, method: str, path: str, data: dict | None = None) -> HttpAnswer:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base_url + path, data=body, method=method)
        try:
            with self.opener.open(request, timeout=120) as response:
                return HttpAnswer(response.status, response.read().decode(), dict(response.headers))
        except urllib.error.HTTPError as error:
            return HttpAnswer(error.code, error.read().decode(), dict(error.headers))

    def get(self, path: str) -> HttpAnswer:
        return self.request("GET", path)

    def csrf_token(self, page: str) -> str:
        return csrf_token_from(self.get(page).text)

    def post(self, path: str, data: dict | None = None, *, token: str) -> HttpAnswer:
        return self.request("POST", path, {"csrf_token": token, **(data or {})})

    def sign_in(self, email: str, password: str = PASSWORD) -> None:
        answer = self.post(
            "/login", {"email": email, "password": password}, token=self.csrf_token("/login")
        )
        assert answer.status == 302, answer.text


def all_at_once(jobs: list, timeout: float = 300) -> list:
    """Run the callables in threads released together by a barrier; their results in order."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)
    errors: list = []

    def run(index: int, job) -> None:
        try:
            barrier.wait(timeout)
            results[index] = job()
        except Exception as error:  # reported to the test below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a request never finished"
    if errors:
        raise errors[0]
    return results


def seed_for_servers(app: Flask, *users: User) -> None:
    """What an operator leaves before starting servers on a new database: the schema (by the
    migrations), `users`, and the project "demo" signing with HS256_KEY."""
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(directory=MIGRATIONS)
    for user in users:
        saved(app, user)
    project = Project(
        slug="demo",
        name="Demo",
        session_server="dh.soulmachines.cloud",
        issuer="sm-abcdef123456789",
        allowed_origins=[],
        custom_claims={},
    )
    with app.app_context():
        project.set_signing_key(HS256_KEY)
    saved(app, project)
    with app.app_context():
        db.engine.dispose()  # the servers are other processes; keep no connection open


def closed_port() -> int:
    """A loopback port nothing listens on (it was free a moment ago)."""
    return free_port()
