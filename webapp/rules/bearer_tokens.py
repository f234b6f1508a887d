"""Judging a bearer token from a project's identity provider, given a way to find the
provider's key (webapp.services.provider_keys). Pure: no request, no database, no network.

Each refusal is a `BearerRefused` with a reason (a fixed word, for metrics and logs) and a
sentence a website's developer can act on; it never repeats the token."""

import hashlib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from jwt import PyJWK

from webapp.rules.identity_providers import TrustedProvider

# Asymmetric algorithms only (RFC 8725 section 3.1): a provider's published keys are public,
# so an HMAC "signed" with one proves nothing, and `none` proves nothing at all.
ALGORITHMS = frozenset({"RS256", "PS256", "ES256", "EdDSA"})
MAX_TOKEN = 16_384
MAX_SUB = 255
# Derived user ids live in a namespace of their own (see `user_id_for`).
USER_ID_PREFIX = b"webapp bearer user id\x00"

# PyJWT's refusals, most specific first, as (exception, reason).
REFUSALS: tuple[tuple[type[jwt.InvalidTokenError], str], ...] = (
    (jwt.ExpiredSignatureError, "expired"),
    (jwt.ImmatureSignatureError, "not_yet_valid"),
    (jwt.InvalidAudienceError, "wrong_audience"),
    (jwt.InvalidIssuerError, "wrong_issuer"),
    (jwt.MissingRequiredClaimError, "missing_claim"),
    (jwt.InvalidSignatureError, "bad_signature"),
    (jwt.InvalidIssuedAtError, "not_yet_valid"),
    (jwt.DecodeError, "malformed"),
)


class BearerRefused(Exception):
    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Identity:
    user_id: str
    locale: str | None  # the locale claim as given; the caller normalises it


def user_id_for(issuer: str, sub: str) -> str:
    """A stable, opaque id from (issuer, sub), in the UUID form local users' ids have.

    A plain hash rather than a keyed HMAC: it must stay the same for a person for as long as
    their provider keeps their `sub`, whatever secrets this deployment rotates, and on every
    instance; no secret of ours can be lost or leaked to change or reveal it. Each provider's
    `sub` is its own namespace, so the issuer is part of the input (two providers with the
    same `sub` are two people). SHA-256, then the RFC 9562 version 8 (custom) bits."""
    digest = hashlib.sha256(
        USER_ID_PREFIX + issuer.encode() + b"\x00" + sub.encode("utf-8", "surrogatepass")
    ).digest()
    raw = bytearray(digest[:16])
    raw[6] = (raw[6] & 0x0F) | 0x80  # version 8
    raw[8] = (raw[8] & 0x3F) | 0x80  # the RFC 4122 variant
    return str(uuid.UUID(bytes=bytes(raw)))


def header_of(token: str) -> dict[str, Any]:
    if len(token) > MAX_TOKEN:
        raise BearerRefused("malformed", f"The token is longer than {MAX_TOKEN:,} characters.")
    try:
        return jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:  # not a JWT, or a header PyJWT refuses (a kid not text)
        raise BearerRefused("malformed", "The bearer token is not a JSON Web Token.") from None


def unverified_issuer(token: str) -> object:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        raise BearerRefused("malformed", "The bearer token's claims are not JSON.") from None
    return claims.get("iss")


def verify_bearer(
    token: str,
    provider: TrustedProvider,
    find_key: Callable[[str | None, str], PyJWK],
    now: int,
) -> Identity:
    """The visitor the token names; BearerRefused saying why not. `find_key(kid, alg)` is
    the provider's published key (its own errors, unknown key or provider away, pass)."""
    header = header_of(token)
    algorithm = header.get("alg")
    if not isinstance(algorithm, str) or algorithm not in ALGORITHMS:
        raise BearerRefused(
            "algorithm",
            f"Tokens signed with {str(algorithm)[:20]!r} are not accepted: only "
            "RS256, PS256, ES256 and EdDSA, with a key the provider publishes.",
        )
    issuer = unverified_issuer(token)
    if issuer != provider.issuer:
        # Checked before any key is looked up: another provider's key is nobody's business.
        raise BearerRefused(
            "wrong_issuer",
            f"This project trusts tokens from {provider.issuer}, not from {str(issuer)[:200]}.",
        )
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise BearerRefused("malformed", "The token's key id (kid) is not text.")
    key = find_key(kid, algorithm)
    if key.algorithm_name != algorithm:
        raise BearerRefused(
            "algorithm",
            f"The provider's key {str(kid)[:100]!r} signs with {key.algorithm_name}, "
            f"not {algorithm}.",
        )
    claims = decoded(token, key, algorithm, provider)
    return Identity(
        user_id_for(provider.issuer, checked_sub(claims)), judged(claims, provider, now)
    )


def decoded(token: str, key: PyJWK, algorithm: str, provider: TrustedProvider) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=[algorithm],
            audience=list(provider.audiences),
            issuer=provider.issuer,
            leeway=provider.leeway,
            options={"require": ["iss", "sub", "aud", "exp", "iat"]},
        )
    except jwt.InvalidTokenError as error:
        raise refusal_for(error, provider) from None
    return claims


def refusal_for(error: jwt.InvalidTokenError, provider: TrustedProvider) -> BearerRefused:
    reason = next((why for kind, why in REFUSALS if isinstance(error, kind)), "invalid")
    messages = {
        "expired": "The token has expired: get a fresh one from the identity provider.",
        "not_yet_valid": "The token is not valid yet (its nbf or iat lies in the future): "
        "check the clocks.",
        "wrong_audience": "The token is for another audience: this project accepts "
        + ", ".join(provider.audiences)
        + ".",
        "wrong_issuer": f"This project trusts tokens from {provider.issuer} only.",
        "bad_signature": "The token's signature does not match the provider's key.",
    }
    return BearerRefused(reason, messages.get(reason) or f"The token is not valid: {error}.")


def checked_sub(claims: Mapping[str, Any]) -> str:
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > MAX_SUB:
        raise BearerRefused("missing_claim", "The token has no usable sub (subject) claim.")
    return sub


def judged(claims: Mapping[str, Any], provider: TrustedProvider, now: int) -> str | None:
    """The rules beyond the signature and the registered claims; the locale claim's value."""
    issued_at = claims["iat"]
    if not isinstance(issued_at, int | float) or isinstance(issued_at, bool):
        # PyJWT accepts any value int() takes, "1700000000" among them.
        raise BearerRefused("malformed", "The token's iat is not a number.")
    if now - issued_at > provider.max_age + provider.leeway:
        raise BearerRefused(
            "too_old",
            f"The token was issued more than {provider.max_age:,} seconds ago, the most this "
            "project accepts: get a fresh one from the identity provider.",
        )
    if provider.required_claim is not None and not carries(
        claims.get(provider.required_claim), provider.required_value
    ):
        raise BearerRefused(
            "missing_claim",
            f"The token's {provider.required_claim!r} claim does not include "
            f"{provider.required_value!r}, which this project requires.",
        )
    locale = claims.get(provider.locale_claim)
    return locale if isinstance(locale, str) else None


def carries(value: object, wanted: str | None) -> bool:
    """The claim is the value, a list holding it, or a space-separated `scope` holding it."""
    if isinstance(value, list):
        return wanted in value
    if isinstance(value, str):
        return value == wanted or wanted in value.split(" ")
    return False
