"""Two instances of the production server behind a real nginx, configured from
deploy/nginx.conf: they share the database, Redis and the secrets, and nothing else."""

import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

import jwt
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from helpers import (
    HS256_KEY,
    PASSWORD,
    PASSWORD_HASH,
    app_settings,
    seed_for_servers,
    using_postgresql,
)
from proxy import Nginx, nginx_binary, running_nginx
from servers import ROOT, free_port, production_server, server_environment
from visitor import Visitor

from webapp import create_app
from webapp.models import User
from webapp.rules.encryption import fingerprint

pytestmark = [
    pytest.mark.skipif(
        not using_postgresql(),
        reason="many instances share one PostgreSQL database (SQLite serves one machine): "
        "this runs on the PostgreSQL leg (TEST_DATABASE_URL)",
    ),
    pytest.mark.skipif(
        nginx_binary() is None, reason="nginx is not installed (apt-get install nginx)"
    ),
]

REDIS_URL = "redis://127.0.0.1:6379/0"
CONFIGURATION_DELAY = 2  # seconds: a change saved on one instance is in force on all by then
SIGN_INS_ALLOWED = 6  # per account, across every instance, in the test's rate-limit window
ADMIN = "admin@example.com"
USER = "user@example.com"


def token_claims(visitor: Visitor) -> dict:
    answer = visitor.get("/auth/authorize?project=demo")
    assert answer.status == 200, answer.text
    # Verifying the signature proves the instance decrypted the very key the admin entered.
    return jwt.decode(
        answer.json()["jwt"], HS256_KEY, algorithms=["HS256"], options={"verify_aud": False}
    )


@contextlib.contextmanager
def throwaway_database() -> Iterator[str]:
    """A database of its own on the suite's PostgreSQL server, dropped afterwards."""
    server = sa.make_url(os.environ["TEST_DATABASE_URL"])
    name = f"webapp_instances_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Deployment:
    """Two instances on fixed loopback ports, so nginx keeps finding them across restarts."""

    directory: Path
    settings: dict[str, str]
    ports: dict[str, int] = field(default_factory=dict)
    running: dict[str, contextlib.ExitStack] = field(default_factory=dict)
    nginx: Nginx | None = None

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def start(self, name: str) -> None:
        stack = contextlib.ExitStack()
        log = self.directory / f"{name}-{uuid.uuid4().hex[:8]}.log"
        stack.enter_context(production_server(self.settings, log, workers=1, port=self.ports[name]))
        self.running[name] = stack

    def restart_all(self, **settings: str) -> None:
        """Stop every instance, then start them again, side by side, with `settings` changed."""
        self.settings.update(settings)
        for name in self.ports:
            self.running.pop(name).close()
        with ThreadPoolExecutor() as starting:
            list(starting.map(self.start, self.ports))

    def app(self):
        """An app in the test process on the same database and secrets, to write rows."""
        overrides = {"SECRETS_ENCRYPTION_KEYS": self.settings["FLASK_SECRETS_ENCRYPTION_KEYS"]}
        database = self.settings["FLASK_SQLALCHEMY_DATABASE_URI"]
        return create_app(
            app_settings(database, **overrides), instance_path=str(self.directory / "app")
        )

    def flask(self, *args: str) -> subprocess.CompletedProcess:
        """`flask --app webapp …` as an operator runs it, with the instances' settings."""
        return subprocess.run(
            [str(Path(sys.executable).parent / "flask"), "--app", "webapp", *args],
            cwd=ROOT,
            env=server_environment(self.settings),
            capture_output=True,
            text=True,
            timeout=120,
        )


def forget_rate_limit_counts(prefix: str) -> None:
    try:
        import redis
    except ImportError:
        return  # no rate limiter in this version of the app, so nothing was counted
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"*{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    directory = tmp_path_factory.mktemp("instances")
    rate_limit_prefix = f"webapp-test-{uuid.uuid4().hex[:12]}"
    with throwaway_database() as database_url, contextlib.ExitStack() as stack:
        https_port = free_port()
        settings = {
            "FLASK_DEPLOYMENT": "production",
            "FLASK_SECRET_KEY": secrets.token_hex(32),
            "FLASK_SECRETS_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "FLASK_SQLALCHEMY_DATABASE_URI": database_url,
            "FLASK_TRUSTED_PROXIES": "1",
            "FLASK_TRUSTED_PROXY_NETWORKS": "127.0.0.1,::1",  # nginx, on this machine
            "FLASK_PUBLIC_URL": f"https://127.0.0.1:{https_port}",
            "FLASK_RATELIMIT_STORAGE_URI": REDIS_URL,
            "FLASK_RATELIMIT_KEY_PREFIX": rate_limit_prefix,
            "FLASK_RATELIMIT_SIGN_IN_PER_ACCOUNT": f"{SIGN_INS_ALLOWED} per 15 minutes",
        }
        deployment = Deployment(directory, settings, {"a": free_port(), "b": free_port()})
        seed_for_servers(
            deployment.app(),
            User(email=ADMIN, password_hash=PASSWORD_HASH, is_admin=True),
            User(email=USER, password_hash=PASSWORD_HASH),
        )
        stack.callback(forget_rate_limit_counts, rate_limit_prefix)
        for name in deployment.ports:
            deployment.start(name)
            stack.callback(lambda name=name: deployment.running.pop(name).close())
        deployment.nginx = stack.enter_context(
            running_nginx(directory / "nginx", list(deployment.ports.values()), https_port)
        )
        yield deployment


@pytest.fixture
def nginx(deployment: Deployment) -> Nginx:
    assert deployment.nginx is not None
    return deployment.nginx


@pytest.fixture
def user_through_nginx(nginx: Nginx) -> Visitor:
    visitor = Visitor(nginx.https_url, nginx.certificate.client_context())
    answer = visitor.sign_in(USER, PASSWORD)
    assert answer.status == 302, answer.text
    return visitor


def session_cookie(set_cookie_headers: list[str]):
    for header in set_cookie_headers:
        for name, morsel in SimpleCookie(header).items():
            if name.endswith("session"):  # production names it __Host-session
                return morsel
    raise AssertionError(f"no session cookie in {set_cookie_headers}")


def test_plain_http_is_sent_to_https(nginx: Nginx):
    answer = Visitor(nginx.http_url).get("/login")
    assert answer.status == 301
    assert answer.headers["Location"].startswith("https://127.0.0.1/login")


def test_sign_in_and_tokens_through_nginx_with_secure_cookies(
    deployment: Deployment, nginx: Nginx, user_through_nginx: Visitor
):
    cookie = session_cookie(user_through_nginx.set_cookie_headers)
    assert cookie["secure"] is True
    assert cookie["httponly"] is True

    answered_before = len(nginx.upstreams_used())
    for _ in range(4):
        answer = user_through_nginx.get("/auth/authorize?project=demo")
        assert answer.status == 200, answer.text
        assert answer.json()["success"] is True
        # The app saw HTTPS in X-Forwarded-Proto, so it sends HSTS.
        assert "max-age=" in answer.headers["Strict-Transport-Security"]
    # One signed cookie, and either instance knows who it is.
    answered_by = set(nginx.upstreams_used()[answered_before:])
    assert answered_by == {f"127.0.0.1:{port}" for port in deployment.ports.values()}


def test_the_instances_take_the_client_address_from_nginx_not_from_the_client(
    deployment: Deployment, nginx: Nginx
):
    request_id = f"forwarded-{uuid.uuid4().hex}"
    visitor = Visitor(nginx.https_url, nginx.certificate.client_context())
    answer = visitor.get("/ping", X_Forwarded_For="203.0.113.7", X_Request_ID=request_id)
    assert answer.status == 200
    assert answer.headers["X-Request-ID"] == request_id
    lines = [
        json.loads(line)
        for log in deployment.directory.glob("*.log")
        for line in log.read_text().splitlines()
        if request_id in line
    ]
    # nginx appends the address it saw; TRUSTED_PROXIES=1 believes that one only.
    assert [line["remote_addr"] for line in lines] == ["127.0.0.1"]


def test_a_project_edit_on_one_instance_is_in_force_on_the_other_within_2_seconds(
    deployment: Deployment, user_through_nginx: Visitor
):
    admin = Visitor(deployment.url("a"))
    assert admin.sign_in(ADMIN, PASSWORD).status == 302
    user_at_b = user_through_nginx.at(deployment.url("b"))
    assert "edited_on" not in token_claims(user_at_b)

    saved_answer = admin.submit("/admin/projects/demo", {"custom_claims": '{"edited_on": "a"}'})
    assert saved_answer.status == 302, saved_answer.text
    saved_at = time.monotonic()
    while True:  # bounded: fails once a request begun 2 s after the save is still stale
        asked_at = time.monotonic()
        claims = token_claims(user_at_b)
        if claims.get("edited_on") == "a":
            break
        assert asked_at - saved_at < CONFIGURATION_DELAY, "instance B still signs the old claims"
        time.sleep(0.1)


def test_rate_limit_counts_are_shared_by_the_instances(deployment: Deployment):
    visitors = [Visitor(deployment.url("a")), Visitor(deployment.url("b"))]
    statuses = []
    for attempt in range(SIGN_INS_ALLOWED + 1):  # alternately on A and on B
        statuses.append(visitors[attempt % 2].sign_in("guess@example.com", "wrong").status)
    # Each instance saw at most half the attempts; only a shared count reaches the limit.
    assert statuses == [200] * SIGN_INS_ALLOWED + [429]


def stored_ciphertext(deployment: Deployment) -> str:
    engine = sa.create_engine(deployment.settings["FLASK_SQLALCHEMY_DATABASE_URI"])
    with engine.connect() as connection:
        value = connection.execute(
            sa.text("SELECT signing_key_encrypted FROM projects WHERE slug = 'demo'")
        ).scalar_one()
    engine.dispose()
    return value


def readable_with(key: str, ciphertext: str) -> bool:
    try:
        Fernet(key).decrypt(ciphertext)
    except InvalidToken:
        return False
    return True


def shown_fingerprints(deployment: Deployment, admin: Visitor) -> set[bool]:
    return {
        fingerprint(HS256_KEY) in admin.at(deployment.url(name)).get("/admin/projects").text
        for name in deployment.ports
    }


def test_keys_rotate_run_once_is_seen_by_every_instance(
    deployment: Deployment, user_through_nginx: Visitor
):
    """The README's three steps: add the new key first everywhere, rotate, drop the old."""
    old = deployment.settings["FLASK_SECRETS_ENCRYPTION_KEYS"]
    new = Fernet.generate_key().decode()
    admin = Visitor(deployment.url("a"))
    assert admin.sign_in(ADMIN, PASSWORD).status == 302
    assert shown_fingerprints(deployment, admin) == {True}

    deployment.restart_all(FLASK_SECRETS_ENCRYPTION_KEYS=f"{new},{old}")
    assert not readable_with(new, stored_ciphertext(deployment))
    rotated = deployment.flask("keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    assert readable_with(new, stored_ciphertext(deployment))
    for name in deployment.ports:
        token_claims(user_through_nginx.at(deployment.url(name)))

    deployment.restart_all(FLASK_SECRETS_ENCRYPTION_KEYS=new)
    for name in deployment.ports:
        token_claims(user_through_nginx.at(deployment.url(name)))
    assert shown_fingerprints(deployment, admin) == {True}
