"""What the production server refuses, in one line, rather than run wrongly: several workers
on a per-process rate-limit store (each would count alone), PostgreSQL without its driver."""

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis
from helpers import ENCRYPTION_KEY, PASSWORD, SECRET_KEY
from servers import ROOT, free_port, production_server, server_environment
from visitor import Visitor

from webapp import create_app
from webapp.config import ConfigError
from webapp.config_checks import WORKERS_VARIABLE

REDIS_URL = "redis://127.0.0.1:6379/0"
ALLOWED = 10  # the default RATELIMIT_SIGN_IN_PER_ACCOUNT: 10 per 15 minutes


def production_settings(database_url: str) -> dict[str, str]:
    return {
        "FLASK_DEPLOYMENT": "production",
        "FLASK_SECRET_KEY": SECRET_KEY,
        "FLASK_SECRETS_ENCRYPTION_KEYS": ENCRYPTION_KEY,
        "FLASK_SQLALCHEMY_DATABASE_URI": database_url,
        "FLASK_SESSION_COOKIE_SECURE": "false",  # plain HTTP on loopback
        "FLASK_REMEMBER_COOKIE_SECURE": "false",
    }


def test_two_workers_on_a_per_process_store_refuse_to_start_with_one_line(database_url, tmp_path):
    command = [
        str(Path(sys.executable).parent / "webapp-serve"),
        "--workers", "2", "--threads", "1", "--host", "127.0.0.1", "--port", str(free_port()),
    ]  # fmt: skip
    finished = subprocess.run(
        command,
        cwd=ROOT,
        env=server_environment(production_settings(database_url)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 1
    lines = finished.stderr.strip().splitlines()
    assert lines == [
        "RATELIMIT_STORAGE_URI is memory://, which each of the 2 workers would count alone: "
        "set FLASK_RATELIMIT_STORAGE_URI=redis://… (shared by every worker and instance) "
        "or run one worker (WORKERS=1)."
    ]
    assert "Spawning" not in finished.stdout  # refused before any worker started


@pytest.mark.parametrize("workers", ["", "1"])
def test_one_worker_may_count_in_memory(make_app, monkeypatch, workers):
    monkeypatch.setenv(WORKERS_VARIABLE, workers)
    make_app(DEPLOYMENT="production", RATELIMIT_STORAGE_URI="memory://")


def test_development_and_unlimited_apps_may_count_in_memory(make_app, monkeypatch, tmp_path):
    monkeypatch.setenv(WORKERS_VARIABLE, "4")
    make_app(DEPLOYMENT="development", RATELIMIT_STORAGE_URI="memory://")
    make_app(DEPLOYMENT="production", RATELIMIT_ENABLED=False)
    production = {
        "DEPLOYMENT": "production",
        "SECRET_KEY": SECRET_KEY,
        "SECRETS_ENCRYPTION_KEYS": ENCRYPTION_KEY,
    }
    with pytest.raises(ConfigError, match="each of the 4 workers would count alone"):
        create_app(production, instance_path=str(tmp_path))


def test_the_eleventh_wrong_password_is_refused_across_two_workers(
    database_url, make_user, tmp_path
):
    connection = redis.Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except redis.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    user = make_user("victim@example.com")
    prefix = f"webapp-test-{uuid.uuid4().hex[:12]}"
    settings = {
        **production_settings(database_url),
        "FLASK_RATELIMIT_STORAGE_URI": REDIS_URL,
        "FLASK_RATELIMIT_KEY_PREFIX": prefix,
    }
    try:
        with production_server(settings, tmp_path / "server.log", workers=2) as base_url:
            statuses = []
            for _ in range(ALLOWED + 2):
                # A new visitor and a new connection each time, as a guesser spreading tries.
                answer = Visitor(base_url).sign_in(user.email, PASSWORD + "wrong")
                statuses.append(answer.status)
            good = Visitor(base_url).sign_in(user.email, PASSWORD)
    finally:
        keys = list(connection.scan_iter(match=f"*{prefix}*", count=1000))
        if keys:
            connection.delete(*keys)
        connection.close()
    assert statuses == [200] * ALLOWED + [429, 429]
    assert good.status == 429  # the account's counter, not the guesser's session


def test_postgresql_without_its_driver_is_one_line_saying_what_to_run(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as in a checkout's plain .venv
    settings = {"DEPLOYMENT": "development", "SQLALCHEMY_DATABASE_URI": "postgresql://db/x"}
    with pytest.raises(ConfigError, match=r"driver \(psycopg\) is not installed: .*make serve"):
        create_app(settings, instance_path=str(tmp_path))


def test_make_serve_installs_the_postgresql_driver():
    dry_run = subprocess.run(
        ["make", "-n", "-B", "serve"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert "sync --locked" in dry_run.stdout and "--extra postgres" in dry_run.stdout
