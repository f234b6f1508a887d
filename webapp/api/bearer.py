"""The token endpoint's second lane: `Authorization: Bearer <JWT>` from the project's
OpenID Connect identity provider. The request is judged by that token alone (RFC 6750),
never by a cookie; the fast path hands every request with an Authorization header to Flask,
and the view calls `answer` before anything reads the session."""

import logging
import time
from dataclasses import dataclass

from flask import Flask, Response, current_app, request
from flask_limiter.util import get_remote_address
from prometheus_client import Counter

from webapp.api import token_request
from webapp.api.answers import refusal, token_issued
from webapp.observability import events
from webapp.observability.metrics import metrics_of
from webapp.rules.bearer_tokens import BearerRefused, verify_bearer
from webapp.rules.locales import best_locale
from webapp.services.provider_keys import ProviderUnavailable, provider_keys
from webapp.services.token_reads import TokenProject, TokenVisitor
from webapp.services.tokens import ProjectCannotSign

log = logging.getLogger("webapp.tokens")
PROVIDER_AWAY = "The identity provider's keys cannot be fetched right now. Try again shortly."
CANNOT_SIGN = "This project cannot issue tokens right now. Please tell its administrators."


@dataclass(frozen=True)
class BearerMetrics:
    counted: Counter


def bearer_metrics(app: Flask) -> BearerMetrics:
    metrics: BearerMetrics = app.extensions["webapp.bearer_metrics"]
    return metrics


def presented() -> str | None:
    return request.headers.get("Authorization")


def answer(project: TokenProject, authorization: str) -> Response:
    """The token for the visitor the bearer token names, or a 401/503 saying why not."""
    origins = project.allowed_origins
    provider = project.provider
    if provider is None:
        return refused(
            project,
            "",
            "no_provider",
            "This project trusts no identity provider: "
            "sign in here and send the cookie instead, or ask its admins to add one.",
        )
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return refused(project, provider.issuer, "malformed", "Send Authorization: Bearer <token>.")
    keys = provider_keys(current_app)
    try:
        identity = verify_bearer(
            token.strip(),
            provider,
            lambda kid, algorithm: keys.key(provider.issuer, kid, algorithm),
            int(time.time()),
        )
    except BearerRefused as why:
        return refused(project, provider.issuer, why.reason, why.message)
    except ProviderUnavailable as error:
        count(project, provider.issuer, "provider_unavailable")
        events.token_refused("provider_unavailable", project_slug=project.slug, detail=str(error))
        return refusal(503, PROVIDER_AWAY, origins, headers=[("Retry-After", "10")])
    token_request.count("oidc:" + identity.user_id)
    locale = best_locale([*filter(None, [identity.locale]), *request.accept_languages.values()])
    visitor = TokenVisitor(identity.user_id, 0, True, locale)
    try:
        issued = token_issued(
            project,
            visitor,
            request.headers.get("Origin"),
            nbf_leeway=current_app.config["TOKEN_NBF_LEEWAY"],
        )
    except ProjectCannotSign as error:
        events.token_refused(
            "cannot_sign",
            project_slug=project.slug,
            user_public_id=identity.user_id,
            detail=str(error),
        )
        return refusal(503, CANNOT_SIGN, origins)
    count(project, provider.issuer, "accepted")
    return issued


def refused(project: TokenProject, issuer: str, reason: str, message: str) -> Response:
    """401 with RFC 6750's challenge; counted against the client's address, as a request
    with no sign-in is."""
    token_request.count("address:" + (get_remote_address() or "-"))
    count(project, issuer, reason)
    events.token_refused("bearer_" + reason, project_slug=project.slug)
    # A header value: printable ASCII without quotes or backslashes, whatever a token held.
    description = "".join(c if " " <= c <= "~" and c not in '"\\' else "?" for c in message)
    challenge = f'Bearer error="invalid_token", error_description="{description}"'
    return refusal(401, message, project.allowed_origins, headers=[("WWW-Authenticate", challenge)])


def count(project: TokenProject, issuer: str, outcome: str) -> None:
    """The bearer counter and log line, by provider and outcome (accepted, or why not)."""
    bearer_metrics(current_app).counted.labels(issuer, outcome).inc()
    log.info(
        "bearer token %s: project %s, provider %s",
        outcome,
        project.slug,
        issuer or "-",
        extra={"outcome": outcome, "project": project.slug, "provider": issuer},
    )


def init_app(app: Flask) -> None:
    app.extensions["webapp.bearer_metrics"] = BearerMetrics(
        Counter(
            "webapp_bearer_tokens",
            "Bearer token requests by identity provider and outcome (accepted, or the reason "
            "for refusal).",
            ["provider", "outcome"],
            registry=metrics_of(app).registry,
        )
    )
