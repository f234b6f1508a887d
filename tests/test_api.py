"""The token endpoint, read the way the vendor's front ends read it."""

import logging
import time

import jwt
import pytest
import sqlalchemy as sa
from helpers import PASSWORD, Forms

from webapp.extensions import db
from webapp.models import Project, User

ALGORITHMS = ["HS256", "HS384", "HS512", "RS256", "ES256"]


def decode(token: str, verify_key, algorithm: str, issuer: str = "sm-abcdef123456789") -> dict:
    return jwt.decode(
        token,
        verify_key,
        algorithms=[algorithm],
        issuer=issuer,
        options={"require": ["iss", "iat", "nbf", "exp", "jti"]},
    )


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_every_claim_for_every_algorithm(
    client, signing_keys, make_project, signed_in_user, algorithm
):
    key, verify_key = signing_keys[algorithm]
    make_project(
        "demo",
        key=key,
        algorithm=algorithm,
        token_lifetime=900,
        custom_claims={"sessionId": "abc", "tier": 2},
    )
    before = int(time.time())
    response = client.post("/auth/authorize?project=demo")
    assert response.status_code == 200
    body = response.get_json()
    url, token = body["url"], body["jwt"]  # what the vendor's web component reads
    assert body["success"] is True
    assert url == "wss://dh.soulmachines.cloud"
    assert jwt.get_unverified_header(token) == {"alg": algorithm, "typ": "JWT"}

    claims = decode(token, verify_key, algorithm)
    assert claims["sm-session-server"] == "dh.soulmachines.cloud"
    assert claims["sm-control-via-browser"] is False
    assert "sm-control" not in claims and "sm-control-cookie-header" not in claims
    assert all(isinstance(claims[name], int) for name in ("iat", "nbf", "exp"))
    assert before <= claims["iat"] <= int(time.time())
    assert claims["exp"] - claims["iat"] == 900
    assert claims["iat"] - claims["nbf"] == 30
    assert body["expires_at"] == claims["exp"]
    assert claims["user_id"] == signed_in_user.public_id
    assert claims["locale"] == "en-US"
    assert claims["sessionId"] == "abc" and claims["tier"] == 2
    custom = set(claims) - {"iss", "iat", "nbf", "exp", "jti", "user_id", "locale"}
    vendor = {"sm-session-server", "sm-control-via-browser"}
    assert not {name for name in custom - vendor if name.lower().startswith("sm-")}
    assert response.headers["Cache-Control"] == "no-store"


def test_optional_vendor_claims_when_configured(client, make_project, signed_in_user):
    make_project(
        environment="development",
        orchestration_url="ws://localhost:8080",
        control_via_browser=True,
        control_cookie_header="AWSALB=abc123",
    )
    claims = decode(client.get("/auth/authorize?project=demo").get_json()["jwt"], "k" * 32, "HS256")
    assert claims["sm-control"] == "ws://localhost:8080"
    assert claims["sm-control-via-browser"] is True
    assert claims["sm-control-cookie-header"] == "AWSALB=abc123"


def test_each_token_has_a_fresh_jti(client, make_project, signed_in_user):
    make_project()
    first, second = (
        decode(client.post("/auth/authorize?project=demo").get_json()["jwt"], "k" * 32, "HS256")
        for _ in range(2)
    )
    assert first["jti"] != second["jti"]


def test_user_locale_and_leeway_come_through(make_app, make_project, make_user):
    app = make_app(TOKEN_NBF_LEEWAY=5)
    make_project()
    user = make_user("lena@example.com", locale="de-DE")
    client = app.test_client()
    Forms(client).post("/login", {"email": user.email, "password": PASSWORD})
    claims = decode(client.get("/auth/authorize?project=demo").get_json()["jwt"], "k" * 32, "HS256")
    assert claims["locale"] == "de-DE"
    assert claims["iat"] - claims["nbf"] == 5


def test_default_project_when_none_is_named(client, make_project, signed_in_user):
    make_project("other")
    make_project("main", issuer="sm-main", is_default=True)
    response = client.get("/auth/authorize")
    assert response.status_code == 200
    assert decode(response.get_json()["jwt"], "k" * 32, "HS256", issuer="sm-main")


def test_no_project_and_no_default_is_400(client, make_project, signed_in_user):
    make_project()
    response = client.get("/auth/authorize")
    assert response.status_code == 400
    assert response.get_json()["success"] is False
    assert "?project=" in response.get_json()["error"]


def test_unknown_project_is_404(client, signed_in_user):
    response = client.get("/auth/authorize?project=nope")
    assert response.status_code == 404
    assert response.get_json() == {"success": False, "error": "There is no enabled project “nope”."}


def test_disabled_project_is_404(client, make_project, signed_in_user):
    make_project(enabled=False)
    assert client.get("/auth/authorize?project=demo").status_code == 404


def test_anonymous_gets_401_json_never_a_redirect(client, make_project):
    make_project()
    for method in ("get", "post"):
        response = getattr(client, method)("/auth/authorize?project=demo")
        assert response.status_code == 401
        assert response.get_json() == {"success": False, "error": "Sign in first."}
        assert "Location" not in response.headers


def test_disabled_user_gets_no_token(app, client, make_project, signed_in_user):
    make_project()
    with app.app_context():
        db.session.get(User, signed_in_user.id).is_active = False
        db.session.commit()
    assert client.get("/auth/authorize?project=demo").status_code == 401


def break_project(app, **columns) -> None:
    """Write straight to the table, as a bad import or a hand edit would."""
    with app.app_context():
        db.session.execute(sa.update(Project).values(**columns))
        db.session.commit()


def test_unreadable_key_is_503_with_the_reason_in_the_log(
    app, client, make_project, signed_in_user, caplog
):
    make_project()
    break_project(app, signing_key_encrypted="gAAAAA-not-a-fernet-token")
    with caplog.at_level(logging.ERROR):
        response = client.get("/auth/authorize?project=demo")
    assert response.status_code == 503
    assert response.get_json()["success"] is False
    assert "decrypt" not in response.get_json()["error"]
    assert "cannot be decrypted" in caplog.text and "'demo'" in caplog.text


def test_project_that_breaks_a_rule_is_refused_not_signed(
    app, client, make_project, signed_in_user, caplog
):
    make_project(orchestration_url="wss://orch.example.com")
    break_project(app, control_via_browser=True)  # a production project
    with caplog.at_level(logging.ERROR):
        response = client.get("/auth/authorize?project=demo")
    assert response.status_code == 503
    assert "jwt" not in response.get_json()
    assert "only allowed in development" in caplog.text


def test_allowed_origin_gets_cors_headers(client, make_project, signed_in_user):
    make_project(allowed_origins=["https://www.example.com"])
    response = client.post(
        "/auth/authorize?project=demo", headers={"Origin": "https://www.example.com"}
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "https://www.example.com"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in response.headers["Vary"]


def test_other_origin_gets_no_cors_headers(client, make_project, signed_in_user):
    make_project(allowed_origins=["https://www.example.com"])
    response = client.post(
        "/auth/authorize?project=demo", headers={"Origin": "https://evil.example"}
    )
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert "Origin" in response.headers["Vary"]


def test_preflight(client, make_project):
    make_project(allowed_origins=["https://www.example.com"])
    response = client.options(
        "/auth/authorize?project=demo",
        headers={
            "Origin": "https://www.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "https://www.example.com"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in response.headers["Access-Control-Allow-Headers"]


def test_preflight_from_other_origin_is_not_allowed(client, make_project):
    make_project(allowed_origins=["https://www.example.com"])
    response = client.options(
        "/auth/authorize?project=demo",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Methods" not in response.headers


def test_cross_origin_401_is_readable_by_an_allowed_origin(client, make_project):
    make_project(allowed_origins=["https://www.example.com"])
    response = client.get(
        "/auth/authorize?project=demo", headers={"Origin": "https://www.example.com"}
    )
    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == "https://www.example.com"


@pytest.mark.parametrize(
    "columns",
    [
        {"orchestration_url": "wss://["},
        {"custom_claims": {"sm-mood": "happy"}},
        {"control_cookie_header": "a=b\r\nX-Evil: 1"},
    ],
)
def test_stored_values_that_break_rules_are_503_not_500(
    app, client, make_project, signed_in_user, columns
):
    make_project()
    break_project(app, **columns)
    assert client.get("/auth/authorize?project=demo").status_code == 503


def test_a_stored_key_pyjwt_refuses_is_503(app, client, make_project, signed_in_user):
    make_project(key="ssh-rsa AAAAB3NzaC1yc2E ops@host")
    assert client.get("/auth/authorize?project=demo").status_code == 503


def test_a_json_body_is_ignored_not_refused(client, make_project, signed_in_user):
    """The endpoint reads no body; a website that POSTs JSON to it still gets its token."""
    make_project("demo")
    response = client.post("/auth/authorize/demo", json={"anything": [1, 2]})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["jwt"]


def test_a_json_body_to_a_form_is_refused(client):
    response = client.post("/login", json={"email": ["a"], "password": 5})
    assert response.status_code == 415
