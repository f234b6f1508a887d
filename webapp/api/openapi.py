"""`GET /openapi.json`: an OpenAPI 3.1 description of the token endpoint, both its forms.

The document is a plain dict kept beside the code it describes; only `servers` comes from
the configuration (PUBLIC_URL), when it is set.
"""

import copy
from typing import Any

from flask import current_app, jsonify
from flask.typing import ResponseReturnValue

from webapp.api.routes import bp

REF = "#/components"


def header(name: str) -> dict[str, str]:
    return {"$ref": f"{REF}/headers/{name}"}


# Every answer carries these; the CORS pair only for the project's allowed origins (for 400
# and 404, which name no project, for the origins any enabled project allows).
ANSWER_HEADERS = {
    "Vary": header("Vary"),
    "Cache-Control": header("CacheControl"),
    "Access-Control-Allow-Origin": header("AllowOrigin"),
    "Access-Control-Allow-Credentials": header("AllowCredentials"),
}


def json_answer(
    description: str, schema: str, headers: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "description": description,
        "headers": headers or ANSWER_HEADERS,
        "content": {"application/json": {"schema": {"$ref": f"{REF}/schemas/{schema}"}}},
    }


RESPONSES = {
    "Token": json_answer("A token for the signed-in visitor.", "Token"),
    "Unauthorized": json_answer(
        "Nobody is signed in (never a redirect); or, with `Authorization: Bearer`, the token "
        "was refused (expired, wrong audience, wrong issuer, unknown key, an algorithm other "
        "than RS256, PS256, ES256 or EdDSA, too old, a required claim missing, or a project "
        "that trusts no identity provider): then `WWW-Authenticate` says so (RFC 6750) and "
        "the error says why. A bearer request is never judged by a cookie.",
        "Refusal",
        {**ANSWER_HEADERS, "WWW-Authenticate": header("WwwAuthenticate")},
    ),
    "BadRequest": json_answer(
        "No project named and no enabled default project. Readable by any origin an enabled "
        "project allows.",
        "Refusal",
    ),
    "NotFound": json_answer(
        "No enabled project has this slug. Readable by any origin an enabled project allows.",
        "Refusal",
    ),
    "MethodNotAllowed": json_answer(
        "Only GET, POST and OPTIONS.", "Refusal", {**ANSWER_HEADERS, "Allow": header("Allow")}
    ),
    "TooManyRequests": json_answer(
        "Too many requests; try again later.",
        "Refusal",
        {**ANSWER_HEADERS, "Retry-After": header("RetryAfter")},
    ),
    "Unavailable": json_answer(
        "The project cannot sign now (for example its key cannot be decrypted); the reason "
        "is in the issuer's log. Or a bearer token names a key the identity provider's "
        "cached keys lack while the provider cannot be reached (with Retry-After).",
        "Refusal",
        {**ANSWER_HEADERS, "Retry-After": header("RetryAfterSometimes")},
    ),
    "Preflight": {
        "description": "CORS preflight. For an allowed origin it allows GET, POST and OPTIONS "
        "with credentials; for any other origin it carries no Access-Control-Allow-* headers.",
        "headers": {
            **ANSWER_HEADERS,
            "Access-Control-Allow-Methods": header("AllowMethods"),
            "Access-Control-Allow-Headers": header("AllowHeaders"),
            "Access-Control-Max-Age": header("MaxAge"),
        },
    },
}


def string_header(description: str, **schema: Any) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "string", **schema}}


HEADERS = {
    "Vary": string_header(
        "Always includes Origin and Authorization.",
        pattern="(^|, *)Origin, Authorization(,|$)",
    ),
    "CacheControl": string_header("Never cached.", const="no-store"),
    "AllowOrigin": string_header("The request's Origin, echoed, only for an allowed origin."),
    "AllowCredentials": string_header("With Access-Control-Allow-Origin.", const="true"),
    "Allow": string_header("The methods the endpoint answers.", example="GET, POST, OPTIONS"),
    "RetryAfter": string_header("Seconds to wait.", pattern="^[0-9]+$"),
    "RetryAfterSometimes": {
        **string_header("Seconds to wait, when the identity provider is away.", pattern="^[0-9]+$"),
        "required": False,
    },
    "AllowMethods": string_header("Preflight, allowed origin only.", const="GET, POST, OPTIONS"),
    "AllowHeaders": string_header(
        "Preflight, allowed origin only.", const="Authorization, Content-Type"
    ),
    "WwwAuthenticate": {
        **string_header("On a refused bearer token.", pattern='^Bearer error="invalid_token"'),
        "required": False,
    },
    "MaxAge": string_header("Preflight, allowed origin only.", pattern="^[0-9]+$"),
}

SCHEMAS = {
    "Token": {
        "type": "object",
        "description": "The shape the vendor's Express template returns and its Web SDK, web "
        "component and React UI read (`url`, `jwt`).",
        "required": ["success", "url", "jwt", "expires_at"],
        "additionalProperties": False,
        "properties": {
            "success": {"const": True},
            "url": {"type": "string", "pattern": "^wss://[^/?#]+$", "description": "wss://<host>"},
            "jwt": {
                "type": "string",
                "pattern": r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$",
                "description": "The signed token; see the claims in the project's preview.",
            },
            "expires_at": {"type": "integer", "description": "The token's `exp`, Unix seconds."},
        },
    },
    "Refusal": {
        "type": "object",
        "required": ["success", "error"],
        "additionalProperties": False,
        "properties": {
            "success": {"const": False},
            "error": {"type": "string", "minLength": 1, "description": "Why, for people."},
        },
    },
}

PARAMETERS = {
    "slug": {
        "name": "slug",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$"},
        "description": "The project.",
    },
    "project": {
        "name": "project",
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": "The project; without it, the default project.",
    },
    "sessionId": {
        "name": "sessionId",
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": "Added by the Web SDK when it resumes a session; ignored, like every "
        "other unknown parameter.",
    },
}


def operations(form: str, parameters: list[dict[str, str]]) -> dict[str, Any]:
    token_answers = {
        "200": {"$ref": f"{REF}/responses/Token"},
        "401": {"$ref": f"{REF}/responses/Unauthorized"},
        "404": {"$ref": f"{REF}/responses/NotFound"},
        "405": {"$ref": f"{REF}/responses/MethodNotAllowed"},
        "429": {"$ref": f"{REF}/responses/TooManyRequests"},
        "503": {"$ref": f"{REF}/responses/Unavailable"},
    }
    if form == "query":
        token_answers["400"] = {"$ref": f"{REF}/responses/BadRequest"}
    token = {
        "tags": ["tokens"],
        "security": [{"bearer": []}, {"session": []}, {"remember": []}, {}],
        "responses": token_answers,
    }
    return {
        "parameters": parameters,
        "get": {
            **token,
            "operationId": f"getToken_{form}",
            "summary": "A token for the signed-in visitor",
        },
        "post": {
            **token,
            "operationId": f"postToken_{form}",
            "summary": "The same as GET; no body is read",
        },
        "options": {
            "tags": ["tokens"],
            "operationId": f"preflight_{form}",
            "summary": "CORS preflight",
            "responses": {
                "204": {"$ref": f"{REF}/responses/Preflight"},
                "404": {"$ref": f"{REF}/responses/NotFound"},
            }
            | ({"400": {"$ref": f"{REF}/responses/BadRequest"}} if form == "query" else {}),
        },
    }


def param(name: str) -> dict[str, str]:
    return {"$ref": f"{REF}/parameters/{name}"}


DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Digital Person token issuer",
        "version": "1",
        "description": "Issues Soul Machines Digital Person tokens to the signed-in visitor, "
        "authenticated by the issuer's session cookie, or by `Authorization: Bearer <JWT>` "
        "from the project's OpenID Connect identity provider (then judged by that token alone; "
        "`user_id` is a stable opaque id derived from the token's issuer and `sub`). Every "
        "answer is JSON, carries `Vary: Origin, Authorization` and `Cache-Control: no-store`, "
        "and the project's allowed origins get "
        "`Access-Control-Allow-Origin` (echoed) with `Access-Control-Allow-Credentials: true`; "
        "a 400 or 404, which names no project, gets them for any origin an enabled project "
        "allows. Give the Web SDK's API key the path form: the SDK appends `?sessionId=` to it.",
    },
    "tags": [{"name": "tokens"}],
    "paths": {
        "/auth/authorize/{slug}": operations("path", [param("slug"), param("sessionId")]),
        "/auth/authorize": operations("query", [param("project"), param("sessionId")]),
    },
    "components": {
        "schemas": SCHEMAS,
        "responses": RESPONSES,
        "headers": HEADERS,
        "parameters": PARAMETERS,
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "An ID token (or JWT access token) from the project's identity "
                "provider: signed with RS256, PS256, ES256 or EdDSA by a key the provider "
                "publishes, with the project's issuer and one of its audiences.",
            },
            "session": {
                "type": "apiKey",
                "in": "cookie",
                "name": "session",
                "description": "The sign-in cookie set by /login.",
            },
            "remember": {
                "type": "apiKey",
                "in": "cookie",
                "name": "remember_token",
                "description": "The remember-me cookie, when the visitor chose it.",
            },
        },
    },
}


def openapi_document() -> dict[str, Any]:
    document = copy.deepcopy(DOCUMENT)
    config = current_app.config
    schemes = document["components"]["securitySchemes"]
    schemes["session"]["name"] = config["SESSION_COOKIE_NAME"]
    schemes["remember"]["name"] = config["REMEMBER_COOKIE_NAME"]
    if config["PUBLIC_URL"]:
        document["servers"] = [{"url": config["PUBLIC_URL"]}]
    return document


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(openapi_document()), 200, {"Access-Control-Allow-Origin": "*"}
