"""Reading any Soul Machines token, ours or another issuer's: what it says and what it breaks."""

import base64
import binascii
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import jwt
from babel.dates import format_timedelta

from webapp.models import Project
from webapp.rules.claims import (
    MAX_CLAIM_DEPTH,
    MAX_TOKEN,
    RESERVED_CLAIMS,
    SETTING_CLAIMS,
    VENDOR_CLAIMS,
    encodable,
    json_nesting,
    project_problems,
    walk_json,
)
from webapp.rules.encryption import SecretUnreadable
from webapp.rules.signing import ALGORITHMS, UnusableKey, verify

# How a broken rule reads when it is a token's claim that breaks it, not a form's field.
TOKEN_WORDING = {
    "session_server": "sm-session-server: not a host name such as dh.soulmachines.cloud.",
    "issuer": "iss: must be the key name Soul Machines assigned, on one line.",
    "token_lifetime": "exp: the lifetime (exp − iat) must be {lowest:,} to {highest:,} seconds.",
    "url": "sm-control: not a WebSocket URL such as wss://orchestration.example.com:8080.",
    "plain_ws": "sm-control: plain ws:// is only for a localhost orchestration server.",
    "localhost": (
        "sm-control: a localhost orchestration server needs sm-control-via-browser true, "
        "which only development projects allow."
    ),
    "boolean": "sm-control-via-browser: must be true or false.",
    "development_only": "sm-control-via-browser: true is only allowed in development projects.",
    "needs_orchestration": "sm-control-via-browser: true needs sm-control, the orchestration URL.",
    "cookie": (
        "sm-control-cookie-header: must be one line of plain ASCII with no control characters."
    ),
    "vendor_prefix": "“{name}”: claim names may not begin with “sm-”; Soul Machines reserves them.",
    "value": "“{name}”: not a strict JSON value (NaN and Infinity are not JSON).",
    "name_missing": "A claim has an empty name.",
    "name_text": "A claim's name is not one line of text UTF-8 can encode.",
    "depth": "“{name}”: lists and objects nest more than {deepest} levels deep.",
    "unencodable": "“{name}”: holds a NUL character or a lone surrogate.",
    "size": "The custom claims take more than {largest:,} bytes as JSON.",
}
CLAIM_OF = {setting: claim for claim, setting, _ in SETTING_CLAIMS}
MANDATORY = ("iss", "sm-session-server", "iat", "exp")


@dataclass
class Inspection:
    header: dict[str, Any] | None = None
    claims: dict[str, Any] | None = None
    unreadable: str | None = None
    signature_valid: bool | None = None  # None when no project was chosen
    signature: str | None = None
    times: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def inspect_token(token: str, *, project: Project | None, now: int) -> Inspection:
    if reason := hostile_token(token):
        return Inspection(unreadable=reason)
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError as error:
        return Inspection(unreadable=f"This is not a readable JWT: {error}.")
    texts = walk_json([header, claims], MAX_CLAIM_DEPTH + 2)
    if texts is None or not all(map(encodable, texts)):
        return Inspection(unreadable=UNENCODABLE)
    inspection = Inspection(
        header=header,
        claims=claims,
        times=explain_times(claims, now),
        problems=token_problems(header, claims, project.environment if project else "production"),
    )
    if project is not None:
        inspection.signature_valid, inspection.signature = check_signature(token, project)
    return inspection


TOO_DEEP = f"This token nests lists and objects more than {MAX_CLAIM_DEPTH} levels deep."
UNENCODABLE = "This token holds text UTF-8 cannot encode (a lone surrogate); it is no valid JWT."


def hostile_token(token: str) -> str | None:
    """Why the token is refused before it is parsed: too long, or its JSON nested so deep
    that a parser would run out of stack. Other faults are PyJWT's to describe."""
    if len(token) > MAX_TOKEN:
        return f"This is longer than any token the inspector reads ({MAX_TOKEN:,} characters)."
    for part in token.split(".")[:2]:
        try:
            text = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        except (binascii.Error, ValueError):
            return None
        if json_nesting(text.decode("utf-8", "replace")) > MAX_CLAIM_DEPTH + 1:
            return TOO_DEEP
    return None


def check_signature(token: str, project: Project) -> tuple[bool, str]:
    """(valid, what to tell the admin) for the project's key and pinned algorithm."""
    name = f"“{project.slug}”"
    try:
        verify(token, project.decrypt_signing_key(), project.algorithm)
    except jwt.InvalidAlgorithmError:
        return False, f"not signed by {name}: the token is not {project.algorithm}, its algorithm."
    except jwt.InvalidSignatureError:
        return False, f"not signed by {name}: the signature does not match its key."
    except jwt.InvalidTokenError as error:
        return False, f"cannot be checked: {error}."
    except (SecretUnreadable, UnusableKey) as error:
        return False, f"cannot be checked against {name}: {error}"
    return True, f"valid, signed with the key of {name} ({project.algorithm})."


def token_problems(header: dict[str, Any], claims: dict[str, Any], environment: str) -> list[str]:
    """Every SPEC.md rule the token breaks, judged by the same rules a project must obey."""
    problems = []
    algorithm = header.get("alg")
    if not algorithm or str(algorithm).lower() == "none":
        problems.append("alg: the token is unsigned (alg none); no session server may accept it.")
    problems += [f"{name} is missing; it is mandatory." for name in MANDATORY if name not in claims]
    for name in ("iat", "nbf", "exp"):
        if name in claims and type(claims[name]) is not int:
            problems.append(f"{name} must be a whole number of seconds.")
    iat, nbf, exp = (claims.get(name) for name in ("iat", "nbf", "exp"))
    if type(iat) is int and type(nbf) is int and type(exp) is int:
        if nbf > iat:
            problems.append("nbf is later than iat: the token was not yet valid when issued.")
        if exp <= iat:
            problems.append("exp is not after iat: the token was never valid.")
    settings = settings_from_claims(claims, environment)
    for problem in project_problems(settings):
        mandatory_but_missing = problem.field in ("session_server", "issuer") and (
            CLAIM_OF[problem.field] not in claims
        )
        unjudgeable_lifetime = problem.field == "token_lifetime" and settings.token_lifetime is None
        if mandatory_but_missing or unjudgeable_lifetime:
            continue  # already said above, in words about the token
        wording = TOKEN_WORDING.get(problem.field) or TOKEN_WORDING.get(problem.code)
        problems.append(wording.format(**problem.params) if wording else str(problem))
    return problems


def settings_from_claims(claims: dict[str, Any], environment: str) -> SimpleNamespace:
    """The project settings that would have produced these claims, as they are: the rules
    judge their types too."""
    iat, exp = claims.get("iat"), claims.get("exp")
    custom = {
        name: value
        for name, value in claims.items()
        if name not in VENDOR_CLAIMS and name.lower() not in RESERVED_CLAIMS
    }
    return SimpleNamespace(
        session_server=claims.get("sm-session-server", ""),
        orchestration_url=claims.get("sm-control"),
        issuer=claims.get("iss", ""),
        # Any algorithm: the header's is judged apart, and other issuers may use others.
        algorithm=ALGORITHMS[0],
        token_lifetime=exp - iat if type(iat) is int and type(exp) is int else None,
        environment=environment,
        control_via_browser=claims.get("sm-control-via-browser", False),
        control_cookie_header=claims.get("sm-control-cookie-header"),
        allowed_origins=[],
        custom_claims=custom,
    )


def explain_times(claims: dict[str, Any], now: int) -> list[str]:
    lines = []
    for name, words in (("iat", "Issued"), ("nbf", "Valid from"), ("exp", "Expires")):
        value = claims.get(name)
        if type(value) is int:
            lines.append(f"{words} {moment(value, now)}.")
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if type(exp) is int and exp <= now:
        lines.append("The token has expired: a session server would refuse it now.")
    elif type(nbf) is int and nbf > now:
        lines.append("The token is not valid yet: a session server would refuse it now.")
    return lines


def moment(timestamp: int, now: int) -> str:
    """'2026-11-29 12:00:00 UTC (in 5 minutes)'."""
    try:
        when = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return f"{timestamp}, which is no date a clock can show"
    return f"{when} ({relative(timestamp - now)})"


def relative(seconds: int) -> str:
    """'in 5 minutes', '2 hours ago', in English."""
    if seconds == 0:
        return "now"
    return format_timedelta(seconds, add_direction=True, locale="en")
