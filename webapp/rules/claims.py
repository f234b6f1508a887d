"""The claims a Soul Machines token carries, and every rule of SPEC.md about them.

`project_problems` is the one place the token rules live: saving a project, checking stored
projects, the token inspector and `build_claims` all call it.
"""

import copy
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import urlsplit

from webapp.rules.hosts import is_host, is_host_and_port, is_loopback, split_host_port
from webapp.rules.problems import InvalidProject, Problem
from webapp.rules.signing import ALGORITHMS


class Environment(StrEnum):
    development = "development"
    production = "production"


ENVIRONMENTS = tuple(Environment)
MIN_LIFETIME, MAX_LIFETIME = 60, 86_400
MAX_URL = 2048
VENDOR_PREFIX = "sm-"
# The claims a project's settings fill, in the order tokens carry them:
# (claim, setting, always carried; otherwise only when the setting has a value).
SETTING_CLAIMS = (
    ("iss", "issuer", True),
    ("sm-session-server", "session_server", True),
    ("sm-control", "orchestration_url", False),
    ("sm-control-via-browser", "control_via_browser", True),
    ("sm-control-cookie-header", "control_cookie_header", False),
)
VENDOR_CLAIMS = frozenset(claim for claim, _, _ in SETTING_CLAIMS if claim.startswith("sm-"))
# Registered JWT claims (RFC 7519) and the ones this issuer always sets.
RESERVED_CLAIMS = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "user_id", "locale"})
# Printable ASCII without spaces: what a WebSocket URL is made of.
URL_CHARACTERS = re.compile(r"[\x21-\x7e]+")
# Custom claims: how deep lists and objects nest in one value, and their size as JSON.
MAX_CLAIM_DEPTH = 16
MAX_CLAIMS_BYTES = 16_384
MAX_CLAIM_NAME = 255
# A pasted token: ours are well under 4 KiB; a longer text is not worth decoding.
MAX_TOKEN = 16_384
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
# An HTTP header value the session server can send: visible ASCII and spaces, CR/LF never.
COOKIE_HEADER = re.compile(r"[\x20-\x7e]{0,4096}")
# What a browser sends as Origin: scheme, lower-case host, optional port; no path, no wildcard.
ORIGIN = re.compile(r"https?://(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9.-]*[a-z0-9])?)(:\d{1,5})?")


class TokenSettings(Protocol):
    """What the rules read of a project (the Project model, or values not yet saved)."""

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


def claim_name_problem(name: object) -> Problem | None:
    """Why a custom claim may not have this name, or None when it may."""
    if not isinstance(name, str) or not name.strip():
        return Problem("custom_claims", "name_missing")
    if not (is_text(name, MAX_CLAIM_NAME) and encodable(name)):
        # The name is not repeated: it may be what a page cannot show.
        return Problem("custom_claims", "name_text", {"longest": MAX_CLAIM_NAME})
    if name.lower().startswith(VENDOR_PREFIX):
        return Problem("custom_claims", "vendor_prefix", {"name": name})
    if name.lower() in RESERVED_CLAIMS:
        return Problem("custom_claims", "reserved", {"name": name})
    return None


def claim_value_problem(name: str, value: object) -> Problem | None:
    """Token payloads are strict JSON: no NaN or Infinity, nothing JSON cannot hold, nothing
    UTF-8 cannot encode, and no NUL; and a value nests only so deep, so that no JSON encoder
    or parser runs out of stack on it."""
    walked = walk_json(value)
    if walked is None:
        return Problem("custom_claims", "depth", {"name": name, "deepest": MAX_CLAIM_DEPTH})
    if not all(encodable(text) and "\x00" not in text for text in walked):
        return Problem("custom_claims", "unencodable", {"name": name})
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return Problem("custom_claims", "value", {"name": name})
    return None


def walk_json(value: object, deepest: int = MAX_CLAIM_DEPTH) -> list[str] | None:
    """Every string in `value`, keys included; None when lists and objects nest deeper than
    `deepest`. Iterative, so that no depth of input can exhaust the stack."""
    texts: list[str] = []
    pending: list[tuple[object, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, dict | list | tuple):
            if depth >= deepest:
                return None
            if isinstance(item, dict):
                texts.extend(key for key in item if isinstance(key, str))
                item = item.values()
            pending.extend((child, depth + 1) for child in item)
    return texts


def json_nesting(text: str) -> int:
    """How deep lists and objects nest in JSON text, found without parsing it: a parser
    recurses, and fails on input nested deep enough."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def encodable(text: str) -> bool:
    """UTF-8 can encode it: no lone surrogate, which JSON's \\ud800 escapes can make."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def orchestration_url_problem(url: object, settings: TokenSettings) -> Problem | None:
    """wss://host[:port][/path]: no credentials, no fragment, no spaces or control characters,
    a host by the session server's rule, and plain ws:// only to this machine."""
    wanted = Problem("orchestration_url", "url")
    if not isinstance(url, str) or len(url) > MAX_URL or not URL_CHARACTERS.fullmatch(url):
        return wanted
    try:
        parts = urlsplit(url)
    except ValueError:
        return wanted
    host_port = split_host_port(parts.netloc.lower())
    if (
        parts.scheme not in ("wss", "ws")
        or "#" in url
        or "@" in parts.netloc
        or host_port is None
        or not is_host(host_port[0])
    ):
        return wanted
    local = is_loopback(host_port[0])
    if parts.scheme == "ws" and not local:
        return Problem("orchestration_url", "plain_ws")
    if local and not (
        settings.control_via_browser is True and settings.environment == Environment.development
    ):
        return Problem("orchestration_url", "localhost")
    return None


def is_text(value: object, longest: int) -> bool:
    """One line of printable text, not too long."""
    return isinstance(value, str) and len(value) <= longest and not CONTROL_CHARACTERS.search(value)


def project_problems(settings: TokenSettings) -> list[Problem]:
    """Every token rule the project breaks.

    Values may come from a form, an imported file, a database row or a pasted token, so none
    is trusted to have the right type."""
    problems: list[Problem] = []
    add = problems.append

    if not is_host_and_port(settings.session_server):
        add(Problem("session_server", "host"))
    if not is_text(settings.issuer, 255) or not settings.issuer.strip():
        add(Problem("issuer", "required"))
    if settings.algorithm not in ALGORITHMS:
        add(Problem("algorithm", "choice", {"choices": ", ".join(ALGORITHMS)}))
    if settings.environment not in ENVIRONMENTS:
        add(Problem("environment", "choice"))
    lifetime = settings.token_lifetime
    if type(lifetime) is not int or not MIN_LIFETIME <= lifetime <= MAX_LIFETIME:
        add(Problem("token_lifetime", "range", {"lowest": MIN_LIFETIME, "highest": MAX_LIFETIME}))
    if settings.orchestration_url and (
        problem := orchestration_url_problem(settings.orchestration_url, settings)
    ):
        add(problem)
    if not isinstance(settings.control_via_browser, bool):
        add(Problem("control_via_browser", "boolean"))
    elif settings.control_via_browser:
        if settings.environment != Environment.development:
            add(Problem("control_via_browser", "development_only"))
        if not settings.orchestration_url:
            add(Problem("control_via_browser", "needs_orchestration"))
    cookie = settings.control_cookie_header
    if cookie is not None and not (isinstance(cookie, str) and COOKIE_HEADER.fullmatch(cookie)):
        add(Problem("control_cookie_header", "cookie"))
    origins = settings.allowed_origins
    if not isinstance(origins, list | tuple):
        add(Problem("allowed_origins", "type"))
    else:
        for origin in origins:
            if not isinstance(origin, str) or not ORIGIN.fullmatch(origin):
                add(Problem("allowed_origins", "origin", {"origin": origin}))
    if not isinstance(settings.custom_claims, Mapping):
        add(Problem("custom_claims", "type"))
    else:
        for name, value in settings.custom_claims.items():
            if problem := claim_name_problem(name) or claim_value_problem(name, value):
                add(problem)
        if not any(problem.field == "custom_claims" for problem in problems):
            size = len(json.dumps(dict(settings.custom_claims)).encode("utf-8"))
            if size > MAX_CLAIMS_BYTES:
                add(Problem("custom_claims", "size", {"largest": MAX_CLAIMS_BYTES}))
    return problems


@dataclass(frozen=True)
class ClaimTemplate:
    """A project's part of its tokens, taken from settings that break no rule: checked once,
    when a project is loaded, then filled in per token."""

    setting_claims: dict[str, Any]
    custom_claims: dict[str, Any]
    lifetime: int

    def claims(self, user_id: str, locale: str, *, now: int, nbf_leeway: int) -> dict[str, Any]:
        """The claims of one token, in SPEC.md's order."""
        claims = dict(self.setting_claims)
        claims.update(
            iat=now,
            nbf=now - nbf_leeway,
            exp=now + self.lifetime,
            jti=str(uuid.uuid4()),
            user_id=user_id,
            locale=locale,
        )
        claims.update(self.custom_claims)
        return claims


def claim_template(settings: TokenSettings) -> ClaimTemplate:
    """Refuses a project that breaks a rule (InvalidProject)."""
    if problems := project_problems(settings):
        raise InvalidProject(problems)
    # The rules above already refuse control via browser outside development or without a URL.
    return ClaimTemplate(
        setting_claims={
            claim: getattr(settings, setting)
            for claim, setting, always in SETTING_CLAIMS
            if always or getattr(settings, setting)
        },
        # A copy: the template outlives the row or form it was read from.
        custom_claims=copy.deepcopy(dict(settings.custom_claims)),
        lifetime=settings.token_lifetime,
    )


def build_claims(
    settings: TokenSettings, user_id: str, locale: str, *, now: int, nbf_leeway: int
) -> dict[str, Any]:
    """The claims of one token, in SPEC.md's order; refuses a project that breaks a rule."""
    return claim_template(settings).claims(user_id, locale, now=now, nbf_leeway=nbf_leeway)
