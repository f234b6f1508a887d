"""The events ops count and read about: each is one log line and one counter.

A line names the user by public id and the token by `jti` and `exp`; never the token itself,
an email, or a key.
"""

import logging
from dataclasses import dataclass
from typing import Any

from flask import current_app, g, has_request_context

from webapp.observability.metrics import Metrics, metrics_of
from webapp.observability.usage import ISSUED, SIGN_INS, TOKENS

tokens_log = logging.getLogger("webapp.tokens")
sign_ins_log = logging.getLogger("webapp.sign_ins")

# The longest requested slug written to a log line: the value comes from the visitor.
REQUESTED_SLUG_LIMIT = 100
# Where a token request keeps its event until its request line is written (request_log).
REQUEST_EVENT = "token_event"


@dataclass(frozen=True)
class Event:
    """A line of `tokens_log`, not yet written."""

    message: str
    fields: dict[str, Any]
    level: int = logging.INFO


def token_issued(
    project_slug: str, user_public_id: str, claims: dict[str, Any], *, stale: bool = False
) -> None:
    """Counts a token and logs it: on its request's own line when it was asked for in a
    request (request_log writes one line per token request), else alone (the CLI). `stale`:
    issued from a read kept while the database could not be reached."""
    count_issued(metrics_of(current_app), project_slug, stale=stale)
    event = issued_event(project_slug, user_public_id, claims, stale=stale)
    if has_request_context():
        setattr(g, REQUEST_EVENT, event)
    elif tokens_log.isEnabledFor(event.level):
        tokens_log.log(event.level, event.message, extra=event.fields)


def count_issued(metrics: Metrics, project_slug: str, *, stale: bool = False) -> None:
    """The token fast path's half of `token_issued`; it writes `issued_event` itself."""
    metrics.issued_in(project_slug).inc()
    metrics.usage.bump(TOKENS, project_slug, ISSUED)
    if stale:
        metrics.stale_in(project_slug).inc()


def issued_event(
    project_slug: str, user_public_id: str, claims: dict[str, Any], *, stale: bool = False
) -> Event:
    jti, exp = claims["jti"], claims["exp"]
    message = f"token issued: project {project_slug}, user {user_public_id}, jti {jti}, exp {exp}"
    fields = {
        "outcome": "issued",
        "project": project_slug,
        "user_id": user_public_id,
        "jti": jti,
        "exp": exp,
    }
    if not stale:
        return Event(message, fields)
    # Ops should see an outage's tokens at the level they watch, not only in the metrics.
    message += ", from a kept read: the database cannot be reached"
    return Event(message, {**fields, "stale": True}, logging.WARNING)


def token_refused(
    reason: str,
    *,
    project_slug: str | None = None,
    requested: str | None = None,
    user_public_id: str | None = None,
    detail: str | None = None,
) -> None:
    """`project_slug` names a known project; `requested` is what the visitor asked for."""
    metrics = metrics_of(current_app)
    metrics.tokens_refused.labels(project_slug or "", reason).inc()
    if project_slug:  # the admins' usage figures are per project
        metrics.usage.bump(TOKENS, project_slug, reason)
    # A project that cannot sign needs its admins; the other refusals are the visitor's.
    level = logging.ERROR if detail else logging.INFO
    if tokens_log.isEnabledFor(level):
        requested = requested[:REQUESTED_SLUG_LIMIT] if requested is not None else None
        tokens_log.log(
            level,
            "token refused: %s, project %r, user %s%s",
            reason,
            project_slug or requested,
            user_public_id or "-",
            f": {detail}" if detail else "",
            extra={
                "outcome": "refused",
                "reason": reason,
                "project": project_slug,
                "requested_project": requested,
                "user_id": user_public_id,
                "detail": detail,
            },
        )


def sign_in_attempt(outcome: str, user_public_id: str | None = None) -> None:
    """outcome: success, unknown_email, wrong_password, disabled, unconfirmed (the address
    waits for its mailed link), second_factor_needed (the password was right;
    /login/two-factor follows) or wrong_code (at that second step)."""
    metrics = metrics_of(current_app)
    metrics.sign_ins.labels(outcome).inc()
    metrics.usage.bump(SIGN_INS, "", outcome)
    if sign_ins_log.isEnabledFor(logging.INFO):
        sign_ins_log.info(
            "sign-in %s: user %s",
            outcome,
            user_public_id or "-",
            extra={"outcome": outcome, "user_id": user_public_id},
        )
