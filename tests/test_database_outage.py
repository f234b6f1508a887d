"""When PostgreSQL goes away, instances answer 503 at once, and recover on their own when it
comes back: a throwaway cluster of the test's own is stopped and started under two instances."""

import contextlib
import secrets
import socket
import threading
import time

import pytest
from helpers import (
    ENCRYPTION_KEY,
    PASSWORD,
    PASSWORD_HASH,
    app_settings,
    metric_value,
    seed_for_servers,
    using_postgresql,
)
from postgres_cluster import postgres_bin_dir, throwaway_cluster
from servers import production_server
from visitor import Visitor

from webapp import create_app
from webapp.models import User
from webapp.services.token_reads import REUSE_SECONDS

pytestmark = [
    pytest.mark.skipif(
        not using_postgresql(),
        reason="the outage tests stop a PostgreSQL server of their own: they run on the "
        "PostgreSQL leg (TEST_DATABASE_URL)",
    ),
    pytest.mark.skipif(
        postgres_bin_dir() is None,
        reason="PostgreSQL's initdb and pg_ctl are not installed (apt-get install postgresql)",
    ),
]

RECOVERY_ATTEMPTS = 50  # a tenth of a second apart: the server has just said it is ready
HANG = 60  # seconds: far beyond the connect timeout, however loaded the machine


def instance_settings(database_url: str) -> dict[str, str]:
    return {
        "FLASK_DEPLOYMENT": "production",
        "FLASK_SECRET_KEY": secrets.token_hex(32),
        "FLASK_SECRETS_ENCRYPTION_KEYS": ENCRYPTION_KEY,
        "FLASK_SQLALCHEMY_DATABASE_URI": database_url,
        # A plain-HTTP rig: the visitor talks to the instances without a proxy.
        "FLASK_SESSION_COOKIE_SECURE": "false",
        "FLASK_REMEMBER_COOKIE_SECURE": "false",
        "FLASK_LOG_LEVEL": "WARNING",
    }


def assert_database_unavailable(visitor: Visitor) -> None:
    health = visitor.get("/healthz")
    assert health.status == 503, health.text
    assert health.json() == {"status": "unavailable", "failing": "database"}

    token = visitor.get("/auth/authorize?project=demo")
    assert token.status == 503, token.text
    assert token.headers["Content-Type"] == "application/json"
    assert token.json()["success"] is False
    assert "database" in token.json()["error"]

    page = visitor.get("/", Accept="text/html")  # loading the signed-in user needs the database
    assert page.status == 503, page.text
    assert page.headers["Content-Type"].startswith("text/html")
    assert "cannot reach its database" in page.text
    assert "Traceback" not in page.text


def wait_until_healthy(visitor: Visitor) -> None:
    for _ in range(RECOVERY_ATTEMPTS):
        if visitor.get("/healthz").status == 200:
            return
        time.sleep(0.1)
    raise AssertionError(f"{visitor.base_url} did not recover: {visitor.get('/healthz').text}")


def test_known_visitors_keep_getting_tokens_while_the_database_is_away(tmp_path):
    """Instance a keeps serving a visitor it read before the outage (TOKEN_STALE_IF_ERROR,
    300 s by default); instance b has it off. Everything else answers 503 on both, and both
    recover alone when the database is back."""
    with throwaway_cluster() as cluster:
        app = create_app(app_settings(cluster.url), instance_path=str(tmp_path / "instance"))
        seed_for_servers(
            app,
            User(email="user@example.com", password_hash=PASSWORD_HASH),
            User(email="late@example.com", password_hash=PASSWORD_HASH),
        )
        settings = instance_settings(cluster.url)
        with (
            production_server(settings, tmp_path / "a.log", workers=1) as instance_a,
            production_server(
                {**settings, "FLASK_TOKEN_STALE_IF_ERROR": "0"}, tmp_path / "b.log", workers=1
            ) as instance_b,
        ):
            user = Visitor(instance_a)
            assert user.sign_in("user@example.com", PASSWORD).status == 302
            late = Visitor(instance_a)  # signed in, but asks for no token before the outage
            assert late.sign_in("late@example.com", PASSWORD).status == 302
            kept, off = user.at(instance_a), user.at(instance_b)
            for visitor in (kept, off):
                assert visitor.get("/auth/authorize?project=demo").status == 200

            cluster.stop()
            # Past the reuse rule (issue 10): from here on every answer needs the database.
            time.sleep(REUSE_SECONDS + 0.2)
            for _ in range(3):
                token = kept.get("/auth/authorize?project=demo")
                assert token.status == 200, token.text
                assert token.json()["success"] is True
            assert_database_unavailable(off)
            refused = late.get("/auth/authorize?project=demo")
            assert refused.status == 503, refused.text
            assert kept.get("/healthz").status == 503
            assert kept.get("/", Accept="text/html").status == 503
            stale = metric_value(
                kept.get("/metrics").text, "webapp_tokens_served_stale_total", project="demo"
            )
            assert stale == 3

            cluster.start()
            for visitor in (kept, off):
                wait_until_healthy(visitor)
            time.sleep(REUSE_SECONDS)  # a failed read is tried again a second later at most
            for visitor in (kept, off):
                token = visitor.get("/auth/authorize?project=demo")
                assert token.status == 200, token.text
            assert late.get("/auth/authorize?project=demo").status == 200

    a_log, b_log = ((tmp_path / log).read_text() for log in ("a.log", "b.log"))
    assert a_log.count("from a kept read: the database cannot be reached") == 3
    assert "from a kept read" not in b_log
    for text in (a_log, b_log):
        assert "database unavailable" in text
        assert "Traceback" not in text


@contextlib.contextmanager
def silent_server():
    """A port that accepts connections (the kernel completes them) and never says a word,
    as a database host behind a broken network path would."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def test_a_database_that_never_answers_gets_503_not_a_hang(tmp_path):
    answers = []
    with silent_server() as port:
        url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/webapp"
        app = create_app(app_settings(url), instance_path=str(tmp_path))
        assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {"connect_timeout": 5}
        # Without a connect timeout the request would wait for as long as the port is open.
        asking = threading.Thread(
            target=lambda: answers.append(app.test_client().get("/healthz")), daemon=True
        )
        asking.start()
        asking.join(timeout=HANG)
        assert not asking.is_alive(), f"no answer in {HANG} s"
    assert answers[0].status_code == 503
    assert answers[0].get_json() == {"status": "unavailable", "failing": "database"}
