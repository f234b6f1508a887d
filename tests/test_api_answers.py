"""Both forms of the token endpoint, and the one shape and headers of every answer."""

import uuid

import jwt
import pytest
import sqlalchemy as sa
from flask import abort
from helpers import HS256_KEY, PASSWORD, Forms

from webapp.extensions import db
from webapp.models import Project

SITE = "https://www.example.com"


def claims_of(response) -> dict:
    return jwt.decode(response.get_json()["jwt"], HS256_KEY, algorithms=["HS256"])


def assert_answer_headers(response, *, readable_by: str | None) -> None:
    assert response.headers["Cache-Control"] == "no-store"
    assert "Origin" in response.headers["Vary"]
    if readable_by:
        assert response.headers["Access-Control-Allow-Origin"] == readable_by
        assert response.headers["Access-Control-Allow-Credentials"] == "true"
    else:
        assert "Access-Control-Allow-Origin" not in response.headers
        assert "Access-Control-Allow-Credentials" not in response.headers


@pytest.mark.parametrize("method", ["get", "post"])
def test_path_form_answers_like_the_query_form(client, make_project, signed_in_user, method):
    make_project(allowed_origins=[SITE])
    by_path = getattr(client, method)("/auth/authorize/demo", headers={"Origin": SITE})
    by_query = getattr(client, method)("/auth/authorize?project=demo", headers={"Origin": SITE})
    assert by_path.status_code == by_query.status_code == 200
    assert by_path.get_json().keys() == by_query.get_json().keys()
    assert by_path.get_json()["url"] == by_query.get_json()["url"]
    first, second = claims_of(by_path), claims_of(by_query)
    assert first["user_id"] == second["user_id"] == signed_in_user.public_id
    assert {k: v for k, v in first.items() if k not in ("jti", "iat", "nbf", "exp")} == {
        k: v for k, v in second.items() if k not in ("jti", "iat", "nbf", "exp")
    }
    for response in (by_path, by_query):
        assert_answer_headers(response, readable_by=SITE)


def test_the_sdk_resuming_a_session_gets_a_token_from_the_path_form(
    client, make_project, signed_in_user
):
    """The SDK requests `authServer + '?sessionId=<id>'`; unknown parameters are ignored."""
    make_project()
    response = client.get("/auth/authorize/demo?sessionId=3f2a-resumed&utm_source=mail")
    assert response.status_code == 200
    assert claims_of(response)["user_id"] == signed_in_user.public_id
    also = client.get("/auth/authorize?project=demo&sessionId=3f2a&other=1")
    assert also.status_code == 200


def test_the_query_form_cannot_be_resumed_and_says_why(client, make_project, signed_in_user):
    make_project()
    response = client.get("/auth/authorize?project=demo?sessionId=3f2a")
    assert response.status_code == 404
    error = response.get_json()["error"]
    assert "“demo?sessionId=3f2a”" in error
    assert "/auth/authorize/demo" in error


def test_the_path_names_the_project_whatever_the_query_says(client, make_project, signed_in_user):
    make_project("demo")
    make_project("other", issuer="sm-other")
    response = client.get("/auth/authorize/demo?project=other")
    assert claims_of(response)["iss"] == "sm-abcdef123456789"


def test_path_form_preflight(client, make_project):
    make_project(allowed_origins=[SITE])
    response = client.options(
        "/auth/authorize/demo",
        headers={"Origin": SITE, "Access-Control-Request-Method": "GET"},
    )
    assert response.status_code == 204
    assert "GET" in response.headers["Access-Control-Allow-Methods"]
    assert_answer_headers(response, readable_by=SITE)


def refused(response, status: int) -> dict:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["success"] is False
    assert isinstance(body["error"], str) and body["error"]
    return body


@pytest.mark.parametrize("path", ["/auth/authorize/demo", "/auth/authorize?project=demo"])
def test_401_is_json_readable_by_an_allowed_origin(client, make_project, path):
    make_project(allowed_origins=[SITE])
    response = client.get(path, headers={"Origin": SITE})
    refused(response, 401)
    assert_answer_headers(response, readable_by=SITE)


@pytest.mark.parametrize("path", ["/auth/authorize/demo", "/auth/authorize?project=demo"])
def test_405_is_json_with_allow_and_cors(client, make_project, path):
    make_project(allowed_origins=[SITE])
    response = client.delete(path, headers={"Origin": SITE, "Accept": "text/html"})
    refused(response, 405)
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST", "OPTIONS"}
    assert_answer_headers(response, readable_by=SITE)


def test_405_from_another_origin_is_json_but_unreadable(client, make_project):
    make_project(allowed_origins=[SITE])
    response = client.put("/auth/authorize/demo", headers={"Origin": "https://evil.example"})
    refused(response, 405)
    assert_answer_headers(response, readable_by=None)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/auth/authorize/nope", 404),
        ("/auth/authorize?project=nope", 404),
        ("/auth/authorize", 400),
        ("/auth/authorize/demo/extra", 404),
    ],
)
def test_no_project_is_readable_by_an_origin_some_project_allows(
    client, make_project, signed_in_user, path, status
):
    """The page's script reads "unknown project" rather than an opaque CORS failure."""
    make_project(allowed_origins=["https://other.example"])
    make_project("shop", allowed_origins=[SITE])
    make_project("old", allowed_origins=["https://old.example"], enabled=False)
    response = client.get(path, headers={"Origin": SITE})
    refused(response, status)
    assert_answer_headers(response, readable_by=SITE)
    for stranger in ("https://evil.example", "https://old.example"):
        response = client.get(path, headers={"Origin": stranger})
        refused(response, status)
        assert_answer_headers(response, readable_by=None)


def test_an_origin_allowed_just_now_reads_the_next_refusal(client, make_project):
    """Saved in this process: in force at once (elsewhere within the 2 s rule)."""
    response = client.get("/auth/authorize/nope", headers={"Origin": SITE})
    assert_answer_headers(response, readable_by=None)
    make_project(allowed_origins=[SITE])
    response = client.get("/auth/authorize/nope", headers={"Origin": SITE})
    assert_answer_headers(response, readable_by=SITE)


def test_a_project_names_its_own_origins_only(client, make_project, signed_in_user):
    """Another project's origin reads nothing of this project's answers, tokens above all."""
    make_project(allowed_origins=[SITE])
    make_project("shop", allowed_origins=["https://shop.example"])
    response = client.get("/auth/authorize/demo", headers={"Origin": "https://shop.example"})
    assert response.status_code == 200
    assert_answer_headers(response, readable_by=None)


def test_an_error_before_the_view_naming_no_project_is_readable_too(client, make_project):
    make_project(allowed_origins=[SITE])
    response = client.patch("/auth/authorize/nope", headers={"Origin": SITE})
    refused(response, 405)
    assert_answer_headers(response, readable_by=SITE)


def test_503_is_json_readable_by_an_allowed_origin(app, client, make_project, signed_in_user):
    make_project(allowed_origins=[SITE])
    with app.app_context():
        db.session.execute(sa.update(Project).values(signing_key_encrypted="not-fernet"))
        db.session.commit()
    response = client.post("/auth/authorize/demo", headers={"Origin": SITE})
    refused(response, 503)
    assert_answer_headers(response, readable_by=SITE)


def test_a_refusal_raised_before_the_view_keeps_the_shape(app, client, make_project):
    """A rate limit (429) answers before the view runs, through the same function."""
    make_project(allowed_origins=[SITE])

    @app.before_request
    def too_many():
        abort(429, "Too many token requests; try again in a minute.")

    for path in ("/auth/authorize/demo", "/auth/authorize?project=demo"):
        response = client.get(path, headers={"Origin": SITE})
        body = refused(response, 429)
        assert body["error"] == "Too many token requests; try again in a minute."
        assert_answer_headers(response, readable_by=SITE)


def test_default_project_origins_apply_to_refusals_without_a_name(app, client, make_project):
    make_project(allowed_origins=[SITE], is_default=True)
    response = client.patch("/auth/authorize", headers={"Origin": SITE})
    refused(response, 405)
    assert_answer_headers(response, readable_by=SITE)


def test_the_rate_limit_answers_429_in_the_same_shape(make_app, make_project, make_user):
    app = make_app(
        RATELIMIT_TOKEN_PER_USER="2 per minute",
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}",
    )
    make_project(allowed_origins=[SITE])
    user = make_user("ada@example.com")
    client = app.test_client()
    Forms(client).post("/login", {"email": user.email, "password": PASSWORD})
    for path in ("/auth/authorize/demo", "/auth/authorize?project=demo"):
        assert client.get(path, headers={"Origin": SITE}).status_code == 200
    response = client.get("/auth/authorize/demo?sessionId=x", headers={"Origin": SITE})
    body = refused(response, 429)
    assert "Too many token requests" in body["error"]
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert_answer_headers(response, readable_by=SITE)
