"""A project's trusted OpenID Connect identity provider: the rules its settings obey, and
what its discovery document must say. (Verifying a bearer token is `bearer_tokens.py`.)

One provider per project: its issuer URL (discovery at
`<issuer>/.well-known/openid-configuration`), the audiences a token may carry, the claim
holding the visitor's locale, an optional claim a token must carry with a given value, the
oldest token accepted and the clock leeway."""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from webapp.rules.hosts import is_host, is_loopback, split_host_port
from webapp.rules.problems import Problem

DISCOVERY_PATH = "/.well-known/openid-configuration"
MAX_URL = 2048
MAX_AUDIENCES, MAX_AUDIENCE = 20, 255
MAX_CLAIM_VALUE = 255
# A claim name as providers write them: `locale`, `groups`, `https://example.com/roles`.
CLAIM_NAME = re.compile(r"[A-Za-z0-9_.:/-]{1,128}")
# Printable ASCII without spaces.
VISIBLE = re.compile(r"[\x21-\x7e]+")
MAX_AGE_RANGE = (60, 7 * 86_400)
LEEWAY_RANGE = (0, 300)

# The settings, beside the project's own (see Project.SETTINGS), and a new project's values.
SETTINGS = (
    "oidc_issuer",
    "oidc_audiences",
    "oidc_locale_claim",
    "oidc_required_claim",
    "oidc_required_value",
    "oidc_max_age",
    "oidc_leeway",
)
DEFAULTS: dict[str, Any] = {
    "oidc_issuer": None,
    "oidc_audiences": [],
    "oidc_locale_claim": "locale",
    "oidc_required_claim": None,
    "oidc_required_value": None,
    "oidc_max_age": 3600,
    "oidc_leeway": 60,
}


class ProviderSettings(Protocol):
    oidc_issuer: str | None
    oidc_audiences: Sequence[str]
    oidc_locale_claim: str
    oidc_required_claim: str | None
    oidc_required_value: str | None
    oidc_max_age: int
    oidc_leeway: int


@dataclass(frozen=True)
class TrustedProvider:
    """A project's provider, as the token path uses it."""

    issuer: str
    audiences: tuple[str, ...]
    locale_claim: str
    required_claim: str | None
    required_value: str | None
    max_age: int
    leeway: int


def trusted_provider(settings: ProviderSettings) -> TrustedProvider | None:
    """The provider of settings that obey the rules, or None when the project has none."""
    if not settings.oidc_issuer:
        return None
    return TrustedProvider(
        issuer=settings.oidc_issuer,
        audiences=tuple(settings.oidc_audiences),
        locale_claim=settings.oidc_locale_claim,
        required_claim=settings.oidc_required_claim,
        required_value=settings.oidc_required_value,
        max_age=settings.oidc_max_age,
        leeway=settings.oidc_leeway,
    )


def fetchable_url(url: object) -> bool:
    """An absolute https:// URL, or http:// to this machine (a provider in development and
    tests); no user, query or fragment. The same rule for the issuer and its `jwks_uri`,
    except that `jwks_uri` may have a query."""
    if not isinstance(url, str) or len(url) > MAX_URL or not VISIBLE.fullmatch(url):
        return False
    try:
        parts = urlsplit(url)
        host_port = split_host_port(parts.netloc)
    except ValueError:
        return False
    if host_port is None or "@" in parts.netloc or parts.fragment or "#" in url:
        return False
    host = host_port[0]
    if not is_host(host.lower()) or host != host.lower():
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and is_loopback(host))


def issuer_problem(issuer: object) -> Problem | None:
    if not fetchable_url(issuer):
        return Problem("oidc_issuer", "url")
    assert isinstance(issuer, str)  # for mypy: fetchable_url said so
    if urlsplit(issuer).query:
        return Problem("oidc_issuer", "url")
    return None


def whole_number_problem(
    settings: ProviderSettings, field: str, bounds: tuple[int, int]
) -> list[Problem]:
    value = getattr(settings, field)
    lowest, highest = bounds
    # bool is an int to Python, never to an admin.
    if type(value) is not int or not lowest <= value <= highest:
        return [Problem(field, "range", {"lowest": lowest, "highest": highest})]
    return []


def provider_problems(settings: ProviderSettings) -> list[Problem]:
    """Every rule of the provider's settings; values of any type are judged, not trusted."""
    problems: list[Problem] = []
    issuer = settings.oidc_issuer
    if issuer is not None and (problem := issuer_problem(issuer)):
        problems.append(problem)
    audiences: Any = settings.oidc_audiences
    if not isinstance(audiences, list) or len(audiences) > MAX_AUDIENCES:
        problems.append(Problem("oidc_audiences", "type", {"most": MAX_AUDIENCES}))
    else:
        for audience in audiences:
            if (
                not isinstance(audience, str)
                or not VISIBLE.fullmatch(audience)
                or len(audience) > MAX_AUDIENCE
            ):
                problems.append(Problem("oidc_audiences", "audience", {"longest": MAX_AUDIENCE}))
                break
        if issuer and not audiences:
            problems.append(Problem("oidc_audiences", "required"))
    locale_claim: Any = settings.oidc_locale_claim
    if not isinstance(locale_claim, str) or not CLAIM_NAME.fullmatch(locale_claim):
        problems.append(Problem("oidc_locale_claim", "claim_name"))
    required: Any = settings.oidc_required_claim
    value: Any = settings.oidc_required_value
    if required is not None and (
        not isinstance(required, str) or not CLAIM_NAME.fullmatch(required)
    ):
        problems.append(Problem("oidc_required_claim", "claim_name"))
    if value is not None and (
        not isinstance(value, str) or not VISIBLE.fullmatch(value) or len(value) > MAX_CLAIM_VALUE
    ):
        problems.append(Problem("oidc_required_value", "value", {"longest": MAX_CLAIM_VALUE}))
    elif (required is None) != (value is None):
        problems.append(Problem("oidc_required_value", "pair"))
    problems += whole_number_problem(settings, "oidc_max_age", MAX_AGE_RANGE)
    problems += whole_number_problem(settings, "oidc_leeway", LEEWAY_RANGE)
    return problems


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + DISCOVERY_PATH


def discovery_problem(issuer: str, document: object) -> Problem | None:
    """OpenID Connect Discovery 1.0, section 4.3: the document names exactly the issuer it
    was fetched for, and says where the keys are."""
    if not isinstance(document, Mapping):
        return Problem("oidc_issuer", "discovery_shape")
    if document.get("issuer") != issuer:
        return Problem(
            "oidc_issuer", "issuer_mismatch", {"found": str(document.get("issuer"))[:MAX_URL]}
        )
    if not fetchable_url(document.get("jwks_uri")):
        return Problem("oidc_issuer", "jwks_uri")
    return None
