"""`/openapi.json` is a valid OpenAPI 3.1 document, and the app's real answers match it."""

import uuid

import pytest
import sqlalchemy as sa
from helpers import PASSWORD, Forms
from jsonschema import Draft202012Validator, ValidationError
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from webapp.extensions import db
from webapp.models import Project

SITE = "https://www.example.com"


@pytest.fixture
def document(client) -> dict:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def test_the_document_is_valid_openapi_3_1(document):
    validate(document)
    assert document["openapi"].startswith("3.1")
    assert {"/auth/authorize", "/auth/authorize/{slug}"} <= set(document["paths"])
    for path in ("/auth/authorize", "/auth/authorize/{slug}"):
        assert {"get", "post", "options"} <= set(document["paths"][path])
    assert document["components"]["securitySchemes"]["session"] == {
        "type": "apiKey",
        "in": "cookie",
        "name": "session",
        "description": "The sign-in cookie set by /login.",
    }
    assert document["servers"] == [{"url": "http://127.0.0.1:5000"}]


class Described:
    """The documented answer of one operation and status."""

    def __init__(self, document: dict, path: str, method: str, status: int):
        self.document = document
        operation = document["paths"][path][method]
        self.answer = self.follow(operation["responses"][str(status)])

    def follow(self, node: dict) -> dict:
        while "$ref" in node:
            target = self.document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    def check(self, response) -> None:
        schema_ref = self.answer["content"]["application/json"]["schema"]["$ref"]
        registry = Registry().with_resource(
            "urn:openapi", Resource.from_contents(self.document, default_specification=DRAFT202012)
        )
        validator = Draft202012Validator({"$ref": f"urn:openapi{schema_ref}"}, registry=registry)
        validator.validate(response.get_json())
        for name, header in self.answer["headers"].items():
            header = self.follow(header)
            value = response.headers.get(name)
            if name.startswith("Access-Control-") and value is None:
                continue  # only for an allowed origin; the tests below send one where it applies
            if header.get("required") is False and value is None:
                continue  # documented as sometimes (a bearer refusal's challenge, say)
            assert value is not None, f"{name} is documented but missing"
            Draft202012Validator(header["schema"]).validate(value)


def test_200_matches(client, document, make_project, signed_in_user):
    make_project(allowed_origins=[SITE])
    for path, url in (
        ("/auth/authorize/{slug}", "/auth/authorize/demo"),
        ("/auth/authorize", "/auth/authorize?project=demo"),
    ):
        for method in ("get", "post"):
            response = getattr(client, method)(url, headers={"Origin": SITE})
            assert response.status_code == 200
            assert response.headers["Access-Control-Allow-Origin"] == SITE
            Described(document, path, method, 200).check(response)


def test_401_matches(client, document, make_project):
    make_project(allowed_origins=[SITE])
    response = client.get("/auth/authorize/demo", headers={"Origin": SITE})
    assert response.status_code == 401
    Described(document, "/auth/authorize/{slug}", "get", 401).check(response)


def test_bearer_401_matches(client, document, make_project):
    make_project(
        allowed_origins=[SITE], oidc_issuer="https://idp.example.com", oidc_audiences=["shop"]
    )
    headers = {"Origin": SITE, "Authorization": "Bearer not-a-token"}
    response = client.get("/auth/authorize/demo", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"]
    Described(document, "/auth/authorize/{slug}", "get", 401).check(response)


def test_404_and_400_match(client, document, signed_in_user):
    response = client.get("/auth/authorize/nope")
    assert response.status_code == 404
    Described(document, "/auth/authorize/{slug}", "get", 404).check(response)
    response = client.post("/auth/authorize")
    assert response.status_code == 400
    Described(document, "/auth/authorize", "post", 400).check(response)


def test_405_matches(client, document, make_project):
    make_project(allowed_origins=[SITE])
    response = client.delete("/auth/authorize/demo", headers={"Origin": SITE})
    assert response.status_code == 405
    Described(document, "/auth/authorize/{slug}", "get", 405).check(response)


def test_503_matches(app, client, document, make_project, signed_in_user):
    make_project(allowed_origins=[SITE])
    with app.app_context():
        db.session.execute(sa.update(Project).values(signing_key_encrypted="not-fernet"))
        db.session.commit()
    response = client.get("/auth/authorize?project=demo", headers={"Origin": SITE})
    assert response.status_code == 503
    Described(document, "/auth/authorize", "get", 503).check(response)


def test_preflight_matches(client, document, make_project):
    make_project(allowed_origins=[SITE])
    response = client.options(
        "/auth/authorize/demo", headers={"Origin": SITE, "Access-Control-Request-Method": "GET"}
    )
    assert response.status_code == 204
    documented = Described(document, "/auth/authorize/{slug}", "options", 204).answer["headers"]
    assert set(documented) <= set(response.headers.keys())


def test_a_wrong_answer_would_not_match(document):
    """The check can fail: a token answer without `jwt` breaks the schema."""

    class Fake:
        headers = {"Vary": "Origin", "Cache-Control": "no-store"}

        def get_json(self):
            return {"success": True, "url": "wss://dh.soulmachines.cloud", "expires_at": 1}

    with pytest.raises(ValidationError):
        Described(document, "/auth/authorize", "get", 200).check(Fake())


def test_429_matches(make_app, document, make_project, make_user):
    app = make_app(
        RATELIMIT_TOKEN_PER_USER="1 per minute",
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}",
    )
    make_project(allowed_origins=[SITE])
    user = make_user("ada@example.com")
    client = app.test_client()
    Forms(client).post("/login", {"email": user.email, "password": PASSWORD})
    assert client.get("/auth/authorize/demo").status_code == 200
    response = client.get("/auth/authorize/demo", headers={"Origin": SITE})
    assert response.status_code == 429
    Described(document, "/auth/authorize/{slug}", "get", 429).check(response)


def test_400_and_404_say_an_origin_some_project_allows_may_read_them(document):
    for name in ("BadRequest", "NotFound"):
        answer = document["components"]["responses"][name]
        assert "Access-Control-Allow-Origin" in answer["headers"]
        assert "any origin an enabled project allows" in answer["description"]
