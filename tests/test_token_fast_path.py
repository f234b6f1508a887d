"""The token endpoint's fast path (webapp/api/fast_path.py) answers a signed-in token
request exactly as Flask would, and hands every other request to Flask.

Each request is sent twice: through the app (fast path first) and straight to Flask's own
WSGI app; Flask's `request_started` signal tells which of the two answered."""

import re
import time
from contextlib import contextmanager

import jwt
import pytest
from flask import request_started
from helpers import HS256_KEY, PASSWORD, Forms, closed_port
from werkzeug.test import Client

from webapp.extensions import db
from webapp.models import Project, User

# What differs between two tokens for the same visitor, by design.
PER_TOKEN_CLAIMS = {"jti", "iat", "nbf", "exp"}


@contextmanager
def flask_requests(app):
    """The number of requests Flask itself dispatched while the block ran."""
    started: list[object] = []

    def count(*_args, **_kwargs) -> None:
        started.append(None)

    with request_started.connected_to(count, app):
        yield started


def signed_in_clients(app, make_user, **user_fields):
    """(through the app, straight to Flask), both carrying the same session cookie."""
    user = make_user(**user_fields)
    through_app = app.test_client()
    Forms(through_app).post("/login", {"email": user.email, "password": PASSWORD})
    cookie = through_app.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    flask_only = Client(app.wsgi_app.flask)
    flask_only.set_cookie(cookie.key, cookie.value, domain=cookie.domain)
    return user, through_app, flask_only


def claims_of(response) -> dict:
    claims = jwt.decode(
        response.get_json()["jwt"], HS256_KEY, algorithms=["HS256"], options={"verify_aud": False}
    )
    return {name: value for name, value in claims.items() if name not in PER_TOKEN_CLAIMS}


def comparable(response) -> dict:
    headers = {name: value for name, value in response.headers if name != "Content-Length"}
    headers.pop("X-Request-ID")
    body = response.get_json()
    return {"status": response.status_code, "headers": headers, "keys": sorted(body)}


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/auth/authorize?project=demo", {}),
        ("GET", "/auth/authorize/demo?sessionId=abc", {}),
        ("POST", "/auth/authorize/demo", {}),
        ("GET", "/auth/authorize", {}),  # the default project
        ("GET", "/auth/authorize?project=", {}),  # empty: the default project too
        ("GET", "/auth/authorize/demo", {"Origin": "https://shop.example.com"}),  # allowed
        ("GET", "/auth/authorize/demo", {"Origin": "https://evil.example.net"}),  # not
        ("GET", "/auth/authorize/demo", {"X-Request-ID": "from-the-balancer-1"}),
    ],
)
def test_a_signed_in_token_request_gets_what_flask_would_answer(
    make_app, make_user, make_project, method, path, headers
):
    app = make_app()
    make_project(
        "demo", is_default=True, allowed_origins=["https://shop.example.com"], token_lifetime=600
    )
    user, through_app, flask_only = signed_in_clients(app, make_user)

    with flask_requests(app) as dispatched:
        fast = through_app.open(path, method=method, headers=headers)
    assert dispatched == []  # the fast path answered
    with flask_requests(app) as dispatched:
        slow = flask_only.open(path, method=method, headers=headers)
    assert len(dispatched) == 1

    assert fast.status_code == 200, fast.get_data(as_text=True)
    assert comparable(fast) == comparable(slow)
    assert fast.get_json()["url"] == slow.get_json()["url"]
    assert claims_of(fast) == claims_of(slow)
    assert claims_of(fast)["user_id"] == user.public_id
    if "X-Request-ID" in headers:
        assert fast.headers["X-Request-ID"] == headers["X-Request-ID"]


def test_over_https_both_send_hsts(make_app, make_user, make_project):
    app = make_app(HSTS_MAX_AGE=3600)
    make_project("demo")
    _, through_app, flask_only = signed_in_clients(app, make_user)
    fast = through_app.get("/auth/authorize/demo", base_url="https://localhost")
    slow = flask_only.get("/auth/authorize/demo", base_url="https://localhost")
    assert fast.headers["Strict-Transport-Security"] == "max-age=3600"
    assert comparable(fast) == comparable(slow)


def test_a_token_request_writes_one_line_with_the_token_and_the_request(
    make_app, make_user, make_project, caplog
):
    app = make_app()
    make_project("demo")
    user, through_app, flask_only = signed_in_clients(app, make_user)
    caplog.set_level("INFO")
    lines = {}
    for lane, client in (("fast", through_app), ("flask", flask_only)):
        caplog.clear()
        response = client.get("/auth/authorize/demo", headers={"X-Request-ID": f"abc-{lane}"})
        assert response.headers["X-Request-ID"] == f"abc-{lane}"
        [lines[lane]] = [r for r in caplog.records if r.name.startswith("webapp.")]
    for lane, line in lines.items():
        assert line.name == "webapp.tokens"
        assert (line.outcome, line.user_id, line.request_id) == (
            "issued",
            user.public_id,
            f"abc-{lane}",
        )
        assert (line.endpoint, line.status, line.method) == ("api.authorize", 200, "GET")
        assert line.path == "/auth/authorize/demo"
        assert re.fullmatch(
            rf"token issued: project demo, user {user.public_id}, jti [0-9a-f-]{{36}}, exp \d+ "
            r"\(GET /auth/authorize/demo 200 [\d.]+ms\)",
            line.getMessage(),
        )


def disable(app, user: User) -> None:
    with app.app_context():
        db.session.get(User, user.id).is_active = False
        db.session.commit()


def end_sessions(app, user: User) -> None:
    with app.app_context():
        db.session.get(User, user.id).end_sessions()
        db.session.commit()


def break_key(app, project: Project) -> None:
    with app.app_context():
        stored = db.session.get(Project, project.id)
        stored.set_signing_key("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----")
        db.session.commit()


HTTP2 = {"SERVER_PROTOCOL": "HTTP/2"}
# (what is different, the request, the status Flask answers with)
HANDED_TO_FLASK = [
    ("unknown project", "GET", "/auth/authorize/nowhere", {}, 404),
    ("no default project", "GET", "/auth/authorize", {}, 400),
    ("a preflight", "OPTIONS", "/auth/authorize/demo", {}, 204),
    ("HEAD", "HEAD", "/auth/authorize/demo", {}, 200),
    ("a body", "POST", "/auth/authorize/demo", {"data": {"a": "b"}}, 200),
    ("an escaped query", "GET", "/auth/authorize?project=d%65mo", {}, 200),
    ("a NUL", "GET", "/auth/authorize?project=demo%00", {}, 400),
    ("a trailing slash", "GET", "/auth/authorize/demo/", {}, 404),
    ("a non-ASCII slug", "GET", "/auth/authorize/d\u00e9mo", {}, 404),
    # HTTP/2 may stream a body with neither a length nor chunks: Flask reads and limits it.
    ("HTTP/2, no length", "GET", "/auth/authorize/demo", {"environ_overrides": HTTP2}, 200),
]


@pytest.mark.parametrize(
    ("method", "path", "options", "status"),
    [case[1:] for case in HANDED_TO_FLASK],
    ids=[case[0] for case in HANDED_TO_FLASK],
)
def test_every_other_request_is_answered_by_flask(
    make_app, make_user, make_project, method, path, options, status
):
    app = make_app()
    make_project("demo")
    _, through_app, _ = signed_in_clients(app, make_user)
    with flask_requests(app) as dispatched:
        response = through_app.open(path, method=method, **options)
    assert len(dispatched) == 1
    assert response.status_code == status


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ("signed out", 401),
        ("disabled", 401),
        ("sessions ended", 401),
        ("key broken", 503),
        ("forged cookie", 401),
        ("remember-me only", 200),
    ],
)
def test_a_visitor_or_project_that_changed_is_answered_by_flask(
    make_app, make_user, make_project, change, status
):
    app = make_app()
    project = make_project("demo")
    user, through_app, _ = signed_in_clients(app, make_user)
    if change == "signed out":
        through_app.delete_cookie(app.config["SESSION_COOKIE_NAME"])
    elif change == "disabled":
        disable(app, user)
    elif change == "sessions ended":
        end_sessions(app, user)
    elif change == "key broken":
        break_key(app, project)
    elif change == "forged cookie":
        name = app.config["SESSION_COOKIE_NAME"]
        value = through_app.get_cookie(name).value
        through_app.set_cookie(name, value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
    elif change == "remember-me only":
        remembered = app.test_client()
        Forms(remembered).post(
            "/login", {"email": user.email, "password": PASSWORD, "remember": "y"}
        )
        through_app.set_cookie("remember_token", remembered.get_cookie("remember_token").value)
        through_app.delete_cookie(app.config["SESSION_COOKIE_NAME"])
    with flask_requests(app) as dispatched:
        response = through_app.get("/auth/authorize/demo")
    assert len(dispatched) == 1
    assert response.status_code == status


def test_a_host_outside_trusted_hosts_is_answered_by_flask(make_app, make_user, make_project):
    app = make_app(TRUSTED_HOSTS=["issuer.example.com"])
    make_project("demo")
    user = make_user()
    through_app = app.test_client()
    base = "http://issuer.example.com"
    Forms(through_app).post(
        "/login", {"email": user.email, "password": PASSWORD}, base_url=base, page=f"{base}/login"
    )
    assert through_app.get("/auth/authorize/demo", base_url=base).status_code == 200
    with flask_requests(app) as dispatched:
        response = through_app.get("/auth/authorize/demo", base_url="http://evil.example")
    assert len(dispatched) == 1
    assert response.status_code == 400


def test_both_lanes_count_against_one_limit(make_app, make_user, make_project):
    app = make_app(RATELIMIT_TOKEN_PER_USER="3 per minute")
    make_project("demo")
    _, through_app, flask_only = signed_in_clients(app, make_user)
    assert through_app.get("/auth/authorize/demo").status_code == 200  # fast
    assert flask_only.get("/auth/authorize/demo").status_code == 200  # Flask
    assert through_app.get("/auth/authorize/demo").status_code == 200  # fast
    with flask_requests(app) as dispatched:
        refused = through_app.get("/auth/authorize/demo")
    assert len(dispatched) == 1  # over the limit: Flask words the refusal
    assert refused.status_code == 429
    assert refused.get_json() == {
        "success": False,
        "error": "Too many token requests. Wait a little, then try again.",
    }
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


def test_a_session_signed_with_a_retired_secret_key_still_works(make_app, make_user, make_project):
    old = make_app()
    make_project("demo")
    _, client, _ = signed_in_clients(old, make_user)
    cookie = client.get_cookie(old.config["SESSION_COOKIE_NAME"])
    rotated = make_app(
        SECRET_KEY="a-new-secret-key-" + "x" * 40, SECRET_KEY_FALLBACKS=[old.config["SECRET_KEY"]]
    )
    visitor = rotated.test_client()
    visitor.set_cookie(cookie.key, cookie.value, domain=cookie.domain)
    with flask_requests(rotated) as dispatched:
        response = visitor.get("/auth/authorize/demo")
    assert dispatched == []
    assert response.status_code == 200


def test_a_session_cookie_it_verified_still_expires_on_time(make_app, make_user, make_project):
    """The fast path keeps the cookies it verified; one kept past the session's lifetime is
    refused as Flask's serializer refuses it, not served from what was kept."""
    app = make_app(PERMANENT_SESSION_LIFETIME=2)
    make_project("demo")
    _, client, _ = signed_in_clients(app, make_user)
    with flask_requests(app) as dispatched:
        assert client.get("/auth/authorize/demo").status_code == 200
    assert dispatched == []
    time.sleep(3.1)  # itsdangerous counts whole seconds: older than 2 s for sure
    with flask_requests(app) as dispatched:
        response = client.get("/auth/authorize/demo")
    assert response.status_code == 401
    assert len(dispatched) == 1


def test_every_window_of_the_token_limit_counts(make_app, make_user, make_project):
    app = make_app(RATELIMIT_TOKEN_PER_USER="100 per minute;2 per day")
    make_project("demo")
    _, through_app, _ = signed_in_clients(app, make_user)
    statuses = [through_app.get("/auth/authorize/demo").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert int(through_app.get("/auth/authorize/demo").headers["Retry-After"]) > 60


def test_a_cookie_header_with_odd_bytes_still_gets_a_token(make_app, make_user, make_project):
    app = make_app()
    make_project("demo")
    _, through_app, _ = signed_in_clients(app, make_user)
    name = app.config["SESSION_COOKIE_NAME"]
    session = through_app.get_cookie(name).value
    # A WSGI server hands header bytes over as Latin-1; \xe9 alone is no UTF-8.
    headers = {"Cookie": f"other=\xe9; {name}={session}"}
    cookieless = app.test_client(use_cookies=False)  # sends the header as it is
    with flask_requests(app) as dispatched:
        response = cookieless.get("/auth/authorize/demo", headers=headers)
    assert dispatched == []  # read as Flask reads cookies, not refused
    assert response.status_code == 200


def test_a_limit_storage_that_is_away_gets_flasks_503(make_app, make_user, make_project):
    app = make_app(RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{closed_port()}")
    make_project("demo")
    user = make_user()
    client = app.test_client()
    with app.app_context():
        login_id = db.session.get(User, user.id).get_id()
    with client.session_transaction() as session:
        session["_user_id"] = login_id
    with flask_requests(app) as dispatched:
        response = client.get("/auth/authorize/demo")
    assert len(dispatched) == 1
    assert response.status_code == 503
    assert response.get_json()["success"] is False
