"""The token endpoint with `Authorization: Bearer <JWT>` from a project's identity provider:
real ID tokens from a real OpenID Provider (tests/identity_provider.py), and the tokens an
attacker would forge."""

import base64
import hashlib
import hmac
import json
import socket
import time

import jwt
import pytest
from helpers import HS256_KEY, metric_value
from identity_provider import Client, SigningKey

from webapp.rules.bearer_tokens import user_id_for

ORIGIN = "https://www.shop.example"
ACCOUNTS = {
    "ana": {"email": "ana@example.com", "email_verified": True, "locale": "de_de"},
    "ben": {"email": "ben@example.com", "email_verified": True},
}


@pytest.fixture
def provider(make_identity_provider):
    return make_identity_provider(
        [Client("shop"), Client("other"), Client("shop-es", alg="ES256")], ACCOUNTS
    )


@pytest.fixture
def shop(make_project, provider):
    return make_project(
        "shop",
        allowed_origins=[ORIGIN],
        oidc_issuer=provider.issuer,
        oidc_audiences=["shop", "shop-es"],
    )


def ask(client, token: str | None, slug: str = "shop", **headers):
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.get(f"/auth/authorize/{slug}", headers={"Origin": ORIGIN, **headers})


def claims_of(response) -> dict:
    assert response.status_code == 200, response.get_json()
    return jwt.decode(response.get_json()["jwt"], HS256_KEY, algorithms=["HS256"])


def refused_for(response, words: str, status: int = 401) -> None:
    body = response.get_json()
    assert response.status_code == status, body
    assert body["success"] is False
    assert words in body["error"], body["error"]
    if status == 401:
        challenge = response.headers["WWW-Authenticate"]
        assert challenge.startswith('Bearer error="invalid_token"'), challenge
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN  # the page can read why


def forge(key: SigningKey, provider, **claims) -> str:
    now = int(time.time())
    payload = {"iss": provider.issuer, "sub": "ana", "aud": "shop", "iat": now, "exp": now + 600}
    payload.update(claims)
    return jwt.encode(payload, key.private, algorithm=key.alg, headers={"kid": key.kid})


def test_a_provider_id_token_gets_a_digital_person_token(client, shop, provider):
    response = ask(client, provider.id_token("shop", "ana"))
    claims = claims_of(response)
    assert claims["user_id"] == user_id_for(provider.issuer, "ana")
    assert claims["locale"] == "de-DE"  # the locale claim, normalised as today
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["Vary"].startswith("Origin, Authorization")
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("client_id", ["shop-es"])
def test_es256_tokens_are_accepted_as_the_key_declares(client, shop, provider, client_id):
    token = provider.id_token(client_id, "ana")
    assert jwt.get_unverified_header(token)["alg"] == "ES256"
    assert claims_of(ask(client, token))["user_id"] == user_id_for(provider.issuer, "ana")


def test_locale_falls_back_to_accept_language_then_the_default(client, shop, provider):
    token = provider.id_token("shop", "ben")  # ben's provider gives no locale
    assert claims_of(ask(client, token, **{"Accept-Language": "pt-BR,pt;q=0.8"}))["locale"] == (
        "pt-BR"
    )
    assert claims_of(ask(client, token))["locale"] == "en-US"


def test_the_same_person_gets_the_same_id_and_providers_never_share_one(
    client, make_project, make_identity_provider, shop, provider
):
    second = make_identity_provider([Client("kiosk")], ACCOUNTS)
    make_project("kiosk", oidc_issuer=second.issuer, oidc_audiences=["kiosk"])
    first_id = claims_of(ask(client, provider.id_token("shop", "ana")))["user_id"]
    again = claims_of(ask(client, provider.id_token("shop", "ana")))["user_id"]
    other = claims_of(ask(client, second.id_token("kiosk", "ana"), slug="kiosk"))["user_id"]
    assert first_id == again
    assert other != first_id


def test_an_expired_token_is_refused(client, make_project, make_identity_provider):
    provider = make_identity_provider([Client("shop", id_token_ttl=1)], ACCOUNTS)
    make_project(
        "shop",
        allowed_origins=[ORIGIN],
        oidc_issuer=provider.issuer,
        oidc_audiences=["shop"],
        oidc_leeway=0,
    )
    token = provider.id_token("shop", "ana")
    time.sleep(2.1)
    refused_for(ask(client, token), "expired")


def test_a_token_older_than_the_maximum_age_is_refused(client, shop, provider):
    an_hour_ago = int(time.time()) - 3700
    token = forge(provider.key("RS256"), provider, iat=an_hour_ago)
    refused_for(ask(client, token), "more than 3,600 seconds ago")


def test_a_token_for_another_audience_is_refused(client, shop, provider):
    refused_for(ask(client, provider.id_token("other", "ana")), "another audience")


def test_a_token_from_another_issuer_is_refused(client, shop, provider):
    # Signed with the provider's own key, but claiming another issuer.
    token = forge(provider.key("RS256"), provider, iss="https://evil.example")
    refused_for(ask(client, token), f"trusts tokens from {provider.issuer}")


def test_a_token_for_another_projects_provider_is_refused(
    client, make_project, make_identity_provider, shop
):
    elsewhere = make_identity_provider([Client("shop")], ACCOUNTS)
    make_project("kiosk", oidc_issuer=elsewhere.issuer, oidc_audiences=["shop"])
    refused_for(ask(client, elsewhere.id_token("shop", "ana")), "trusts tokens from")


def test_alg_none_is_refused(client, shop, provider):
    now = int(time.time())
    claims = {"iss": provider.issuer, "sub": "ana", "aud": "shop", "iat": now, "exp": now + 60}
    token = jwt.encode(claims, None, algorithm="none")
    refused_for(ask(client, token), "'none' are not accepted")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_hs256_signed_with_the_providers_public_key_is_refused(client, shop, provider):
    """The classic key-confusion attack: the public key used as an HMAC secret."""
    key = provider.key("RS256")
    now = int(time.time())
    header = {"alg": "HS256", "typ": "JWT", "kid": key.kid}
    claims = {"iss": provider.issuer, "sub": "ana", "aud": "shop", "iat": now, "exp": now + 60}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(key.public_pem(), signing_input.encode(), hashlib.sha256).digest()
    refused_for(ask(client, f"{signing_input}.{b64(signature)}"), "'HS256' are not accepted")


def test_a_signature_by_another_key_with_a_known_kid_is_refused(client, shop, provider):
    impostor = SigningKey.make("RS256")
    impostor.kid = provider.key("RS256").kid
    refused_for(ask(client, forge(impostor, provider)), "signature does not match")


def test_an_unknown_kid_is_refused_then_a_rotated_key_works_without_restart(
    make_app, make_project, provider
):
    app = make_app(OIDC_KEYS_REFRESH_INTERVAL=1)
    client = app.test_client()
    make_project(
        "shop", allowed_origins=[ORIGIN], oidc_issuer=provider.issuer, oidc_audiences=["shop"]
    )
    claims_of(ask(client, provider.id_token("shop", "ana")))  # the keys are cached now
    refused_for(ask(client, forge(SigningKey.make("RS256"), provider)), "publishes no key")
    new = provider.rotate("RS256")
    time.sleep(1.1)  # the refresh interval since the last fetch
    token = provider.id_token("shop", "ana")
    assert jwt.get_unverified_header(token)["kid"] == new.kid
    claims_of(ask(client, token))


def test_unknown_kids_fetch_the_keys_at_most_once_a_minute(client, shop, provider):
    claims_of(ask(client, provider.id_token("shop", "ana")))
    refused_for(ask(client, forge(SigningKey.make("RS256"), provider)), "publishes no key")
    provider.stop()
    # Had it fetched again, it would have found the provider away and answered 503.
    refused_for(ask(client, forge(SigningKey.make("RS256"), provider)), "publishes no key")


def test_a_stopped_provider_keeps_cached_keys_working_and_unknown_kids_get_503(
    make_app, make_project, provider
):
    app = make_app(OIDC_KEYS_REFRESH_INTERVAL=0)
    client = app.test_client()
    make_project(
        "shop", allowed_origins=[ORIGIN], oidc_issuer=provider.issuer, oidc_audiences=["shop"]
    )
    token = provider.id_token("shop", "ana")
    claims_of(ask(client, token))
    provider.stop()
    claims_of(ask(client, token))
    started = time.monotonic()
    response = ask(client, forge(SigningKey.make("RS256"), provider))
    refused_for(response, "cannot be fetched right now", status=503)
    assert response.headers["Retry-After"]
    assert time.monotonic() - started < 5


def test_a_provider_that_never_answers_gives_503_within_the_timeout(make_app, make_project):
    with socket.socket() as silent:  # accepts connections (the backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        issuer = f"http://127.0.0.1:{silent.getsockname()[1]}"
        app = make_app(OIDC_FETCH_TIMEOUT=1)
        make_project("shop", allowed_origins=[ORIGIN], oidc_issuer=issuer, oidc_audiences=["shop"])
        key = SigningKey.make("RS256")
        now = int(time.time())
        token = jwt.encode(
            {"iss": issuer, "sub": "ana", "aud": "shop", "iat": now, "exp": now + 60},
            key.private,
            algorithm="RS256",
            headers={"kid": key.kid},
        )
        started = time.monotonic()
        refused_for(ask(app.test_client(), token), "cannot be fetched", status=503)
        assert time.monotonic() - started < 4


def test_a_bearer_token_never_falls_back_to_the_cookie(client, shop, provider, signed_in_user):
    assert ask(client, None).status_code == 200  # the cookie alone works
    refused_for(ask(client, "not-a-token"), "not a JSON Web Token")
    refused_for(
        client.get("/auth/authorize/shop", headers={"Origin": ORIGIN, "Authorization": "Basic x"}),
        "Bearer",
    )


def test_a_project_without_a_provider_refuses_bearer_tokens(client, make_project, provider):
    make_project("plain", allowed_origins=[ORIGIN])
    refused_for(ask(client, provider.id_token("shop", "ana"), slug="plain"), "no identity provider")


def test_preflight_allows_the_authorization_header(client, shop):
    response = client.options(
        "/auth/authorize/shop",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert response.status_code == 204
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_the_per_user_limit_is_keyed_by_the_derived_id(make_app, make_project, provider):
    app = make_app(RATELIMIT_TOKEN_PER_USER="2 per minute")
    client = app.test_client()
    make_project(
        "shop", allowed_origins=[ORIGIN], oidc_issuer=provider.issuer, oidc_audiences=["shop"]
    )
    ana, ben = provider.id_token("shop", "ana"), provider.id_token("shop", "ben")
    assert [ask(client, ana).status_code for _ in range(3)] == [200, 200, 429]
    assert ask(client, ben).status_code == 200


def test_metrics_count_bearer_tokens_by_provider_and_reason(client, shop, provider):
    ask(client, provider.id_token("shop", "ana"))
    ask(client, provider.id_token("other", "ana"))
    text = client.get("/metrics").get_data(as_text=True)
    name = "webapp_bearer_tokens_total"
    assert metric_value(text, name, provider=provider.issuer, outcome="accepted") == 1
    assert metric_value(text, name, provider=provider.issuer, outcome="wrong_audience") == 1
    refused = metric_value(
        text, "webapp_tokens_refused_total", project="shop", reason="bearer_wrong_audience"
    )
    assert refused == 1


@pytest.mark.parametrize(
    ("headers", "claims", "words"),
    [
        ({"alg": ["RS256"]}, {}, "are not accepted"),
        ({"kid": 7}, {}, "not a JSON Web Token"),
        ({}, {"iat": "1700000000"}, "iat is not a number"),
        ({}, {"iat": True}, "iat"),
        ({}, {"aud": {"x": 1}}, "audience"),
        ({}, {"sub": ""}, "sub"),
        ({}, {"sub": 5}, "Subject must be a string"),
        ({}, {"exp": "soon"}, "exp"),
        ({}, {"iss": ["x"]}, "trusts tokens from"),
        ({}, {"nbf": 9_999_999_999}, "not valid yet"),
    ],
)
def test_hostile_tokens_signed_with_the_real_key_are_refused_in_words(
    client, shop, provider, headers, claims, words
):
    key = provider.key("RS256")
    now = int(time.time())
    payload = {"iss": provider.issuer, "sub": "ana", "aud": "shop", "iat": now, "exp": now + 60}
    header = {"alg": "RS256", "typ": "JWT", "kid": key.kid, **headers}
    body = f"{b64(json.dumps(header).encode())}.{b64(json.dumps({**payload, **claims}).encode())}"
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    signature = key.private.sign(body.encode(), padding.PKCS1v15(), hashes.SHA256())
    response = ask(client, f"{body}.{b64(signature)}")
    assert response.status_code == 401, response.get_json()
    assert words in response.get_json()["error"]


@pytest.mark.parametrize(
    "token", ["", "a.b", "a.b.c", "é" * 10, "x" * 20_000, "eyJhbGciOiJSUzI1NiJ9.W10.c2ln"]
)
def test_garbage_in_the_authorization_header_is_a_401(client, shop, token):
    response = client.get(
        "/auth/authorize/shop", headers={"Origin": ORIGIN, "Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
