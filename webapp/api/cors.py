"""CORS for the token endpoint: a project's allowed origins only, echoed, never `*`."""

from collections.abc import Collection

PREFLIGHT = {
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Max-Age": "600",
}


def cors_headers(origin: str | None, allowed_origins: Collection[str]) -> dict[str, str]:
    # Vary on every answer, so no cache hands one origin's answer to another, or one
    # bearer token's answer to another's.
    headers = {"Vary": "Origin, Authorization"}
    if origin and origin in allowed_origins:
        headers["Access-Control-Allow-Origin"] = origin
        headers["Access-Control-Allow-Credentials"] = "true"
    return headers


def preflight_headers(origin: str | None, allowed_origins: Collection[str]) -> dict[str, str]:
    headers = cors_headers(origin, allowed_origins)
    if "Access-Control-Allow-Origin" in headers:
        headers.update(PREFLIGHT)
    return headers
