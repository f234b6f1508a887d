"""The claims a Soul Machines token carries, and every rule of SPEC.md about them.

`project_problems` is the one place the rules live: the admin form calls it to show errors
beside fields, and `build_claims` calls it to refuse a project that breaks one.
"""

import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit

from webapp.domain.signing import ALGORITHMS

ENVIRONMENTS = ("development", "production")
MIN_LIFETIME, MAX_LIFETIME = 60, 86_400
VENDOR_PREFIX = "sm-"
# Registered JWT claims (RFC 7519) and the ones this issuer always sets.
RESERVED_CLAIMS = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "user_id", "locale"})
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
HOST_NAME = re.compile(
    r"(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*(:\d{1,5})?"
)
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
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


def is_local_url(url: str) -> bool:
    return (urlsplit(url).hostname or "") in LOCAL_HOSTS


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


def orchestration_url_problems(url: str, settings: TokenSettings) -> list[str]:
    parts = urlsplit(url)
    if parts.scheme not in ("wss", "ws") or not parts.hostname:
        return ["Enter a WebSocket URL such as wss://orchestration.example.com:8080."]
    local = is_local_url(url)
    if parts.scheme == "ws" and not local:
        return ["Use wss://; plain ws:// is only for a localhost orchestration server."]
    if local and not (settings.control_via_browser and settings.environment == "development"):
        return [
            "A localhost orchestration server is only reachable with Control via browser, "
            "which only development projects allow."
        ]
    return []


def project_problems(settings: TokenSettings) -> dict[str, list[str]]:
    """Every rule the project breaks, by field, in words an admin understands."""
    problems: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        problems.setdefault(field, []).append(message)

    if not HOST_NAME.fullmatch(settings.session_server or ""):
        add("session_server", "Enter the Digital Person server's host, e.g. dh.soulmachines.cloud.")
    issuer = settings.issuer or ""
    if not issuer.strip() or CONTROL_CHARACTERS.search(issuer) or len(issuer) > 255:
        add("issuer", "Enter the key name Soul Machines assigned, e.g. sm-abcdef123456789.")
    if settings.algorithm not in ALGORITHMS:
        add("algorithm", f"Choose one of {', '.join(ALGORITHMS)}.")
    if settings.environment not in ENVIRONMENTS:
        add("environment", "Choose development or production.")
    lifetime = settings.token_lifetime
    if not isinstance(lifetime, int) or not MIN_LIFETIME <= lifetime <= MAX_LIFETIME:
        add("token_lifetime", f"Choose between {MIN_LIFETIME:,} and {MAX_LIFETIME:,} seconds.")
    if settings.orchestration_url:
        for message in orchestration_url_problems(settings.orchestration_url, settings):
            add("orchestration_url", message)
    if settings.control_via_browser:
        if settings.environment != "development":
            add(
                "control_via_browser",
                "Control via browser is only allowed in development projects.",
            )
        if not settings.orchestration_url:
            add("control_via_browser", "Control via browser needs an orchestration URL.")
    cookie = settings.control_cookie_header
    if cookie is not None and (CONTROL_CHARACTERS.search(cookie) or len(cookie) > 4096):
        add("control_cookie_header", "Enter one line of cookies with no control characters.")
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
        for name in settings.custom_claims:
            if message := claim_name_problem(name):
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
    claims["sm-control-via-browser"] = bool(settings.control_via_browser)
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
