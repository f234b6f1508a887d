"""Log lines: JSON in production, text in development, a request id, one line per request and
per token decision, and never a secret."""

import json
import logging
import re

import jwt
import pytest
import sqlalchemy as sa
from helpers import HS256_KEY, PASSWORD, PASSWORD_HASH, Forms

from webapp.extensions import db


def json_lines(stderr: str) -> list[dict]:
    """Every line the app wrote; each must be one JSON object."""
    return [json.loads(line) for line in stderr.splitlines() if line.strip()]


def lines_of(entries: list[dict], logger: str) -> list[dict]:
    return [entry for entry in entries if entry["logger"] == logger]


@pytest.fixture
def production_app(app, make_app):
    """Built after `app`: logging is the process's, so the app built last sets its format.
    Plain HTTP, so the test client's forms pass CSRF's HTTPS referrer check."""
    return make_app(
        DEPLOYMENT="production", PREFERRED_URL_SCHEME="http", SESSION_COOKIE_SECURE=False
    )


def test_production_writes_one_json_object_per_request(production_app, capsys):
    response = production_app.test_client().get("/ping?code=s3cret&project=demo")
    entries = json_lines(capsys.readouterr().err)
    [line] = lines_of(entries, "webapp.requests")
    assert set(line) >= {"time", "level", "logger", "message", "request_id"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["time"])
    assert line["level"] == "INFO"
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert line["method"] == "GET"
    assert line["path"] == "/ping"  # no query string, so no secret from one
    assert line["status"] == 200
    assert line["endpoint"] == "ops.ping"
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["message"].startswith("GET /ping 200 ")
    assert "s3cret" not in json.dumps(entries)


def test_development_writes_readable_text(client, capsys):
    response = client.get("/ping")
    stderr = capsys.readouterr().err
    request_id = response.headers["X-Request-ID"]
    assert re.search(
        rf"INFO webapp\.requests \[{request_id}\] GET /ping 200 [\d.]+ms$", stderr, re.M
    )
    assert not stderr.lstrip().startswith("{")


def test_a_short_plain_request_id_is_kept(client):
    response = client.get("/ping", headers={"X-Request-ID": "lb-7f3a.2:9"})
    assert response.headers["X-Request-ID"] == "lb-7f3a.2:9"


@pytest.mark.parametrize("given", ["x" * 65, "two words", "<script>", "a\tb", ""])
def test_a_long_or_odd_request_id_is_replaced(client, given):
    response = client.get("/ping", headers={"X-Request-ID": given})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_each_request_gets_its_own_id(client):
    ids = {client.get("/ping").headers["X-Request-ID"] for _ in range(3)}
    assert len(ids) == 3


def test_every_line_of_a_request_carries_its_id(forms, make_user, capsys):
    user = make_user()
    forms.client.get("/login")
    capsys.readouterr()
    response = forms.post("/login", {"email": user.email, "password": "not the password"})
    stderr = capsys.readouterr().err
    request_id = response.headers["X-Request-ID"]
    assert re.search(rf"webapp\.sign_ins \[{request_id}\] sign-in wrong_password", stderr)
    assert re.search(rf"webapp\.requests \[{request_id}\] POST /login 200", stderr)


def test_a_token_request_is_one_line_the_tokens(client, make_project, signed_in_user, capsys):
    make_project()
    capsys.readouterr()
    response = client.get("/auth/authorize?project=demo")
    [line] = capsys.readouterr().err.splitlines()
    request_id = response.headers["X-Request-ID"]
    assert re.search(
        rf"webapp\.tokens \[{request_id}\] token issued: .*\(GET /auth/authorize 200 [\d.]+ms\)$",
        line,
    )


def test_secret_path_parts_are_masked(app, client, caplog):
    app.add_url_rule("/reset-password/<token>", "reset", lambda token: "ok")
    with caplog.at_level(logging.INFO, logger="webapp.requests"):
        client.get("/reset-password/Ab3-secret-link")
    [record] = [r for r in caplog.records if r.name == "webapp.requests"]
    assert record.path == "/reset-password/[masked]"
    assert "Ab3-secret-link" not in caplog.text


def token_records(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "webapp.tokens"]


def test_an_issued_token_is_one_line_without_the_token(
    production_app, make_project, make_user, capsys, caplog
):
    project = make_project()
    user = make_user()
    client = production_app.test_client()
    Forms(client).post("/login", {"email": user.email, "password": PASSWORD})
    with caplog.at_level(logging.INFO):
        token = client.get("/auth/authorize?project=demo").get_json()["jwt"]
    claims = jwt.decode(token, options={"verify_signature": False})

    [record] = token_records(caplog)
    assert record.levelname == "INFO"
    assert (record.outcome, record.project, record.user_id) == ("issued", "demo", user.public_id)
    assert (record.jti, record.exp) == (claims["jti"], claims["exp"])
    stderr = capsys.readouterr().err
    [line] = lines_of(json_lines(stderr), "webapp.tokens")
    assert line["jti"] == claims["jti"] and line["project"] == project.slug

    everything = stderr + caplog.text
    assert token not in everything
    assert token.rsplit(".", 1)[1] not in everything  # not even the signature alone
    assert HS256_KEY not in everything
    assert PASSWORD not in everything and PASSWORD_HASH not in everything
    assert user.email not in everything


def test_refusals_are_one_line_each_with_the_reason(
    app, client, make_project, make_user, login, caplog
):
    make_project(allowed_origins=["https://site.example"])
    with caplog.at_level(logging.INFO):
        client.get("/auth/authorize?project=demo")
        client.get("/auth/authorize?project=no-such-project")
        client.get("/auth/authorize")
        client.options("/auth/authorize?project=demo", headers={"Origin": "https://site.example"})
    refusals = [(r.reason, r.project, r.requested_project) for r in token_records(caplog)]
    assert refusals == [
        ("not_signed_in", "demo", None),
        ("unknown_project", None, "no-such-project"),
        ("no_default_project", None, None),
    ]  # the preflight asked for no token
    assert all(r.outcome == "refused" and r.levelname == "INFO" for r in token_records(caplog))


def test_a_project_that_cannot_sign_is_an_error_line(
    app, client, make_project, signed_in_user, caplog
):
    make_project()
    with app.app_context():
        db.session.execute(sa.text("UPDATE projects SET signing_key_encrypted = 'gAAAAA-broken'"))
        db.session.commit()
    with caplog.at_level(logging.INFO):
        assert client.get("/auth/authorize?project=demo").status_code == 503
    [record] = token_records(caplog)
    assert (record.levelname, record.reason) == ("ERROR", "cannot_sign")
    assert record.user_id == signed_in_user.public_id
    assert "cannot be decrypted" in record.detail


def test_sign_in_lines_name_the_outcome_not_the_email(forms, make_user, caplog):
    user = make_user()
    with caplog.at_level(logging.INFO):
        forms.post("/login", {"email": user.email, "password": "wrong password"})
        forms.post("/login", {"email": "nobody@example.com", "password": PASSWORD})
    records = [r for r in caplog.records if r.name == "webapp.sign_ins"]
    assert [(r.outcome, r.user_id) for r in records] == [
        ("wrong_password", user.public_id),
        ("unknown_email", None),
    ]
    assert user.email not in caplog.text and "nobody@example.com" not in caplog.text
    assert "wrong password" not in caplog.text


def test_engine_errors_log_no_bound_parameters(make_app, caplog):
    """An unexpected database error is logged with its SQL, never with the values bound."""
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    def failing_query():
        db.session.execute(
            sa.text("SELECT password_hash FROM users WHERE password_hash = :hash AND no_column"),
            {"hash": PASSWORD_HASH},
        )
        return "unreachable"

    app.add_url_rule("/failing-query", "failing_query", failing_query)
    with caplog.at_level(logging.INFO):
        response = app.test_client().get("/failing-query")
    assert response.status_code == 500
    [line] = [r for r in caplog.records if r.name == "webapp.requests"]
    assert line.status == 500  # a failed request still has its line
    assert "no_column" in caplog.text  # the error and its SQL were logged
    assert "parameters hidden" in caplog.text
    assert PASSWORD_HASH not in caplog.text
    assert PASSWORD_HASH not in response.get_data(as_text=True)


FORGED = (
    "/x%0a2026-01-01 00:00:00,000 INFO webapp.requests [-] GET /admin 200 1.00ms%c2%85%e2%80%a8"
)


def test_development_escapes_control_characters_in_every_value(client, capsys):
    client.get(FORGED)
    stderr = capsys.readouterr().err
    [line] = [line for line in stderr.splitlines() if "webapp.requests" in line]
    assert line.endswith("ms")  # one line, whatever the path held
    assert "/x\\u000a2026-01-01" in line and "\\u0085\\u2028" in line


def test_production_escapes_del_in_an_all_ascii_line(production_app, capsys):
    production_app.test_client().get("/x%7fy")
    stderr = capsys.readouterr().err
    assert "\x7f" not in stderr
    [line] = lines_of(json_lines(stderr), "webapp.requests")
    assert line["path"] == "/x\x7fy"


def test_production_escapes_what_json_writes_as_is(production_app, capsys):
    production_app.test_client().get(FORGED)
    stderr = capsys.readouterr().err
    assert "\x85" not in stderr and "\u2028" not in stderr
    entries = json_lines(stderr)  # every line still one object
    [line] = lines_of(entries, "webapp.requests")
    assert line["path"].startswith("/x\n2026-01-01") and line["path"].endswith("\x85\u2028")
