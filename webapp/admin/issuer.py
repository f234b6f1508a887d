"""The issuer as a product website sees it: its public URL, and whether each allowed origin
of a project can send it the sign-in cookie."""

from flask import current_app, request

from webapp.models import Project
from webapp.rules.sites import OriginVerdict, cookie_verdict


def issuer_url() -> tuple[str, bool]:
    """The issuer's public base URL, and whether it is configured (PUBLIC_URL) rather than
    read from this request, which may show an internal address behind a proxy."""
    configured = current_app.config["PUBLIC_URL"]
    return (configured, True) if configured else (request.url_root.rstrip("/"), False)


def origin_verdicts(project: Project) -> list[OriginVerdict]:
    base, _ = issuer_url()
    config = current_app.config
    return [
        cookie_verdict(
            origin,
            base,
            cookie_samesite=config["SESSION_COOKIE_SAMESITE"],
            cookie_secure=config["SESSION_COOKIE_SECURE"],
        )
        for origin in project.allowed_origins
    ]
