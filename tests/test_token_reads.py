"""The token path's reads: one statement per request, none while a read is reused, and a
project made ready to sign once per stored version."""

import time

import jwt
import pytest
import sqlalchemy as sa
from helpers import closed_port, using_postgresql

from webapp.extensions import db
from webapp.models import Project, User
from webapp.rules.signing import Signer


@pytest.fixture
def statements():
    """Every SQL statement any engine of this process sends, while the test runs."""
    sent: list[str] = []

    def count(_connection, _cursor, statement, *_args) -> None:
        sent.append(statement)

    sa.event.listen(sa.Engine, "before_cursor_execute", count)
    yield sent
    sa.event.remove(sa.Engine, "before_cursor_execute", count)


def token_claims(response, key: str = "k" * 32) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)
    return jwt.decode(response.get_json()["jwt"], key, algorithms=["HS256"], issuer=None)


def issuers(app) -> dict:
    return app.extensions["token_reads"]._issuers


def test_one_statement_per_token_request_and_none_while_reused(
    client, make_project, signed_in_user, statements
):
    make_project("demo")
    statements.clear()
    assert client.get("/auth/authorize?project=demo").status_code == 200
    assert len(statements) == 2, statements  # and the project's row, new to this worker
    for _ in range(5):
        assert client.get("/auth/authorize?project=demo").status_code == 200
    assert len(statements) == 2, statements

    time.sleep(1.1)  # the read has expired; the project's stamp is the one kept
    assert client.get("/auth/authorize?project=demo").status_code == 200
    assert len(statements) == 3, statements
    assert "signing_key_encrypted" not in statements[-1]


def test_anonymous_and_unknown_project_also_cost_one_statement(client, make_project, statements):
    make_project("demo")
    client.get("/auth/authorize?project=demo")  # the project's row is read once, here
    time.sleep(1.1)
    statements.clear()
    assert client.get("/auth/authorize?project=demo").status_code == 401
    assert client.get("/auth/authorize?project=nope").status_code == 404
    assert client.get("/auth/authorize").status_code == 400
    # Beside them, at most one read a second of the origins every enabled project allows,
    # for the refusals that name no project (webapp.services.known_origins).
    origins = [s for s in statements if s.startswith("SELECT projects.allowed_origins")]
    assert len(origins) <= 1 and len(statements) - len(origins) == 3, statements


def test_project_made_ready_once_per_stored_version(app, client, make_project, signed_in_user):
    project = make_project("demo")
    client.get("/auth/authorize?project=demo")
    first = issuers(app)[project.id]
    time.sleep(1.1)
    client.get("/auth/authorize?project=demo")
    assert issuers(app)[project.id] is first  # same version: nothing checked or loaded again

    with app.app_context():
        stored = db.session.get(Project, project.id)
        stored.issuer = "sm-changed"
        db.session.commit()  # this process wrote: its next request reads again
    claims = token_claims(client.get("/auth/authorize?project=demo"))
    assert claims["iss"] == "sm-changed"
    assert issuers(app)[project.id] is not first


def test_a_write_by_this_process_is_seen_on_its_next_request(
    app, client, make_project, signed_in_user
):
    make_project("demo")
    assert client.get("/auth/authorize?project=demo").status_code == 200
    with app.app_context():
        user = db.session.get(User, signed_in_user.id)
        user.is_active = False
        db.session.commit()
    assert client.get("/auth/authorize?project=demo").status_code == 401


def test_a_stored_project_breaking_a_rule_is_refused_until_fixed(
    app, client, make_project, signed_in_user, database_url
):
    project = make_project("demo")
    assert client.get("/auth/authorize?project=demo").status_code == 200
    # Another instance (or a hand edit) stores a project that breaks a rule.
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            sa.update(Project.__table__)
            .where(Project.__table__.c.id == project.id)
            .values(token_lifetime=5, version=Project.__table__.c.version + 1)
        )
    time.sleep(1.1)
    refused = client.get("/auth/authorize?project=demo")
    assert refused.status_code == 503
    assert "jwt" not in refused.get_json()
    with engine.begin() as connection:
        connection.execute(
            sa.update(Project.__table__)
            .where(Project.__table__.c.id == project.id)
            .values(token_lifetime=600, version=Project.__table__.c.version + 1)
        )
    engine.dispose()
    time.sleep(1.1)
    claims = token_claims(client.get("/auth/authorize?project=demo"))
    assert claims["exp"] - claims["iat"] == 600


@pytest.mark.parametrize("algorithm", ["HS256", "HS384", "HS512"])
def test_signer_writes_what_pyjwt_writes(algorithm):
    claims = {"iss": "sm-x", "iat": 1, "exp": 2, "jti": "j", "locale": "de-DE", "name": "Zoë"}
    key = "s" * 64
    assert Signer(key, algorithm).sign(claims) == jwt.encode(claims, key, algorithm=algorithm)


def test_signer_verifies_for_asymmetric_keys(signing_keys):
    claims = {"iss": "sm-x", "user_id": "u"}
    for algorithm in ("RS256", "ES256"):
        key, public_key = signing_keys[algorithm]
        token = Signer(key, algorithm).sign(claims)
        assert jwt.decode(token, public_key, algorithms=[algorithm]) == claims


def test_reads_are_bounded(app, client, make_project, make_user, login, monkeypatch):
    """Many visitors and projects: the kept reads and issuers stay under their bounds."""
    from webapp.services import token_reads

    monkeypatch.setattr(token_reads, "MAX_READS", 3)
    monkeypatch.setattr(token_reads, "MAX_ISSUERS", 2)
    for number in range(5):
        make_project(f"p{number}")
    login(make_user())
    for number in range(5):
        assert client.get(f"/auth/authorize?project=p{number}").status_code == 200
    reads = app.extensions["token_reads"]
    assert len(reads._reads) <= 3
    assert len(reads._issuers) <= 2


@pytest.mark.skipif(not using_postgresql(), reason="needs a database server to drop connections")
def test_a_connection_the_database_dropped_is_retried(
    app, client, make_project, signed_in_user, database_url
):
    make_project("demo")
    assert client.get("/auth/authorize?project=demo").status_code == 200
    assert app.extensions["token_reads"].engine().pool.checkedin() == 1
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        connection.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    engine.dispose()
    time.sleep(1.1)  # the read has expired: the next request must use the dropped connection
    assert client.get("/auth/authorize?project=demo").status_code == 200


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def outage(app, make_project, make_user, database_url):
    """TokenReads on the suite's database that, once `go_away()` is called, reads from a
    PostgreSQL server that refuses every connection (nothing listens on its port)."""
    from webapp.services.token_reads import TokenReads

    make_project("demo")
    user = make_user()
    away = sa.create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/webapp")
    attempts: list[None] = []
    sa.event.listen(away, "do_connect", lambda *_args: attempts.append(None))
    here = sa.create_engine(database_url)
    engines = [here]
    clock = Clock()

    class Outage:
        login_id = user.get_id()

        def __init__(self) -> None:
            self.reads = self.new_reads(stale_if_error=300)
            self.clock, self.attempts = clock, attempts

        def new_reads(self, stale_if_error: int) -> TokenReads:
            return TokenReads(lambda: engines[-1], clock, stale_if_error=stale_if_error)

        def go_away(self, *others: TokenReads) -> None:
            engines.append(away)
            for reads in (self.reads, *others):
                reads.dispose()

        def come_back(self) -> None:
            engines.pop()
            self.reads.dispose()

    with app.app_context():
        yield Outage()
    away.dispose()
    here.dispose()


def test_a_visitor_read_before_an_outage_is_served_from_that_read(outage):
    known = outage.reads.read(outage.login_id, "demo")
    assert known.visitor is not None and not known.stale
    outage.go_away()
    outage.clock.now += 60
    kept = outage.reads.read(outage.login_id, "demo")
    assert kept.stale and kept.visitor == known.visitor and kept.project is known.project
    assert len(outage.attempts) == 1
    # The database failed: for a second, a visitor with a kept read does not wait for it.
    outage.clock.now += 0.5
    assert outage.reads.read(outage.login_id, "demo").stale
    assert len(outage.attempts) == 1
    outage.clock.now += 1
    assert outage.reads.read(outage.login_id, "demo").stale
    assert len(outage.attempts) == 2


def test_nobody_else_is_served_and_nothing_older_than_the_setting(outage):
    outage.reads.read(outage.login_id, "demo")
    outage.go_away()
    outage.clock.now += 10
    with pytest.raises(sa.exc.OperationalError):  # never read: today's 503
        outage.reads.read("someone-else:1", "demo")
    with pytest.raises(sa.exc.OperationalError):  # another project: never read either
        outage.reads.read(outage.login_id, None)
    outage.clock.now += 300  # 310 s since the read
    with pytest.raises(sa.exc.OperationalError):
        outage.reads.read(outage.login_id, "demo")


def test_once_the_database_is_back_reads_are_fresh_again(outage):
    outage.reads.read(outage.login_id, "demo")
    outage.go_away()
    outage.clock.now += 2
    assert outage.reads.read(outage.login_id, "demo").stale
    outage.come_back()
    outage.clock.now += 1  # past the second without trying: the database is tried again
    read = outage.reads.read(outage.login_id, "demo")
    assert not read.stale and read.visitor is not None


def test_a_setting_of_zero_serves_nothing_kept(outage):
    reads = outage.new_reads(stale_if_error=0)
    reads.read(outage.login_id, "demo")
    outage.go_away(reads)
    outage.clock.now += 2
    with pytest.raises(sa.exc.OperationalError):
        reads.read(outage.login_id, "demo")
