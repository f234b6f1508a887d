"""The events ops count and read about: each is one log line and one counter.

A line names the user by public id and the token by `jti` and `exp`; never the token itself,
an email, or a key.
"""

import logging
from typing import Any

from flask import current_app

from webapp.observability.metrics import metrics_of

tokens_log = logging.getLogger("webapp.tokens")
sign_ins_log = logging.getLogger("webapp.sign_ins")

# The longest requested slug written to a log line: the value comes from the visitor.
REQUESTED_SLUG_LIMIT = 100


def token_issued(project_slug: str, user_public_id: str, claims: dict[str, Any]) -> None:
    metrics_of(current_app).tokens_issued.labels(project_slug).inc()
    if tokens_log.isEnabledFor(logging.INFO):
        tokens_log.info(
            "token issued: project %s, user %s, jti %s, exp %s",
            project_slug,
            user_public_id,
            claims["jti"],
            claims["exp"],
            extra={
                "outcome": "issued",
                "project": project_slug,
                "user_id": user_public_id,
                "jti": claims["jti"],
                "exp": claims["exp"],
            },
        )


def token_refused(
    reason: str,
    *,
    project_slug: str | None = None,
    requested: str | None = None,
    user_public_id: str | None = None,
    detail: str | None = None,
) -> None:
    """`project_slug` names a known project; `requested` is what the visitor asked for."""
    metrics_of(current_app).tokens_refused.labels(project_slug or "", reason).inc()
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
    """outcome: success, unknown_email, wrong_password, disabled, second_factor_needed (the
    password was right; /login/two-factor follows) or wrong_code (at that second step)."""
    metrics_of(current_app).sign_ins.labels(outcome).inc()
    if sign_ins_log.isEnabledFor(logging.INFO):
        sign_ins_log.info(
            "sign-in %s: user %s",
            outcome,
            user_public_id or "-",
            extra={"outcome": outcome, "user_id": user_public_id},
        )
