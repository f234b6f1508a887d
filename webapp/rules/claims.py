"""The claims a Soul Machines token carries, and every rule of SPEC.md about them.

`project_problems` is the one place the rules live: the admin form calls it to show errors
beside fields, and `build_claims` calls it to refuse a project that breaks one.
"""

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit

from webapp.rules.signing import ALGORITHMS

ENVIRONMENTS = ("development", "production")
MIN_LIFETIME, MAX_LIFETIME = 60, 86_400
MAX_URL = 2048
VENDOR_PREFIX = "sm-"
# Registered JWT claims (RFC 7519) and the ones this issuer always sets.
RESERVED_CLAIMS = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "user_id", "locale"})
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
HOST_NAME = re.compile(
    r"(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*(:\d{1,5})?"
)
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
# An HTTP header value the session server can send: visible ASCII and spaces, CR/LF never.
COOKIE_HEADER = re.compile(r"[\x20-\x7e]{0,4096}")
# What a browser sends as Origin: scheme, lower-case host, optional port; no path, no wildcard.
ORIGIN = re.compile(r"https?://(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9.-]*[a-z0-9])?)(:\d{1,5})?")


class TokenSettings(Protocol):
    """What the rules read of a project (the Project model, or a form's unsaved values)."""

    session_server: str
    orchestration_url: str | None
    issuer: str
    algorithm: str
    token_lifetime: int
    environment: str
    control_via_browser: bool
    control_cookie_header: str | None
    allowed_origins: Sequence[str]
    custom_claims: Mapping[str, Any]


class InvalidProject(ValueError):
    """The project breaks at least one rule; `problems` maps each field to its messages."""

    def __init__(self, problems: dict[str, list[str]]):
        self.problems = problems
        super().__init__(
            "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in problems.items())
        )


def claim_name_problem(name: object) -> str | None:
    """Why a custom claim may not have this name, or None when it may."""
    if not isinstance(name, str) or not name.strip():
        return "A custom claim needs a name."
    if name.lower().startswith(VENDOR_PREFIX):
        return (
            f"“{name}”: custom claim names may not begin with “sm-”; Soul Machines reserves them."
        )
    if name.lower() in RESERVED_CLAIMS:
        return f"“{name}” is set by the issuer itself and cannot be a custom claim."
    return None


def claim_value_problem(name: str, value: object) -> str | None:
    """Token payloads are strict JSON: no NaN or Infinity, nothing JSON cannot hold."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return (
            f"“{name}” needs a JSON value: text, a finite number, true, false, a list or an object."
        )
    return None


def orchestration_url_problems(url: object, settings: TokenSettings) -> list[str]:
    wanted = "Enter a WebSocket URL such as wss://orchestration.example.com:8080."
    if not isinstance(url, str) or len(url) > MAX_URL:
        return [wanted]
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port out of range)
    except ValueError:
        return [wanted]
    if parts.scheme not in ("wss", "ws") or not parts.hostname:
        return [wanted]
    local = parts.hostname in LOCAL_HOSTS
    if parts.scheme == "ws" and not local:
        return ["Use wss://; plain ws:// is only for a localhost orchestration server."]
    if local and not (
        settings.control_via_browser is True and settings.environment == "development"
    ):
        return [
            "A localhost orchestration server is only reachable with Control via browser, "
            "which only development projects allow."
        ]
    return []


def is_text(value: object, longest: int) -> bool:
    """One line of printable text, not too long."""
    return isinstance(value, str) and len(value) <= longest and not CONTROL_CHARACTERS.search(value)


def project_problems(settings: TokenSettings) -> dict[str, list[str]]:
    """Every rule the project breaks, by field, in words an admin understands.

    Values may come from a form, a database row or a pasted token, so none is trusted to
    have the right type."""
    problems: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        problems.setdefault(field, []).append(message)

    session_server = settings.session_server
    if not isinstance(session_server, str) or not HOST_NAME.fullmatch(session_server):
        add("session_server", "Enter the Digital Person server's host, e.g. dh.soulmachines.cloud.")
    if not is_text(settings.issuer, 255) or not settings.issuer.strip():
        add("issuer", "Enter the key name Soul Machines assigned, e.g. sm-abcdef123456789.")
    if settings.algorithm not in ALGORITHMS:
        add("algorithm", f"Choose one of {', '.join(ALGORITHMS)}.")
    if settings.environment not in ENVIRONMENTS:
        add("environment", "Choose development or production.")
    lifetime = settings.token_lifetime
    if type(lifetime) is not int or not MIN_LIFETIME <= lifetime <= MAX_LIFETIME:
        add("token_lifetime", f"Choose between {MIN_LIFETIME:,} and {MAX_LIFETIME:,} seconds.")
    if settings.orchestration_url:
        for message in orchestration_url_problems(settings.orchestration_url, settings):
            add("orchestration_url", message)
    if not isinstance(settings.control_via_browser, bool):
        add("control_via_browser", "Control via browser must be true or false.")
    elif settings.control_via_browser:
        if settings.environment != "development":
            add(
                "control_via_browser",
                "Control via browser is only allowed in development projects.",
            )
        if not settings.orchestration_url:
            add("control_via_browser", "Control via browser needs an orchestration URL.")
    cookie = settings.control_cookie_header
    if cookie is not None and not (isinstance(cookie, str) and COOKIE_HEADER.fullmatch(cookie)):
        add(
            "control_cookie_header",
            "Enter one line of cookies in plain ASCII with no control characters, "
            "e.g. AWSALB=abc; AWSALBCORS=abc.",
        )
    for origin in settings.allowed_origins:
        if not isinstance(origin, str) or not ORIGIN.fullmatch(origin):
            add(
                "allowed_origins",
                f"“{origin}” is not an origin: write scheme://host[:port], "
                "with no path and no wildcard.",
            )
    if not isinstance(settings.custom_claims, Mapping):
        add("custom_claims", "Custom claims must be pairs of a name and a value.")
    else:
        for name, value in settings.custom_claims.items():
            if message := claim_name_problem(name) or claim_value_problem(name, value):
                add("custom_claims", message)
    return problems


def build_claims(
    settings: TokenSettings, user_id: str, locale: str, *, now: int, nbf_leeway: int
) -> dict[str, Any]:
    """The claims of one token, in SPEC.md's order; refuses a project that breaks a rule."""
    if problems := project_problems(settings):
        raise InvalidProject(problems)
    claims: dict[str, Any] = {
        "iss": settings.issuer,
        "sm-session-server": settings.session_server,
    }
    if settings.orchestration_url:
        claims["sm-control"] = settings.orchestration_url
    # The rules above already refuse control via browser outside development or without a URL.
    claims["sm-control-via-browser"] = settings.control_via_browser
    if settings.control_cookie_header:
        claims["sm-control-cookie-header"] = settings.control_cookie_header
    claims.update(
        iat=now,
        nbf=now - nbf_leeway,
        exp=now + settings.token_lifetime,
        jti=str(uuid.uuid4()),
        user_id=user_id,
        locale=locale,
    )
    claims.update(settings.custom_claims)
    return claims
