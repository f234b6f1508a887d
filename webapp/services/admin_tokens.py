"""The admin's "Issue a test token": a real token, so it leaves the traces any token does."""

from webapp.models import AuditAction, Project, User
from webapp.observability import events
from webapp.services import audit
from webapp.services.tokens import IssuedToken, issue_token


class ProjectDisabled(Exception):
    """The token endpoint refuses the project, so no test token is issued for it either."""


def issue_test_token(project: Project, admin: User, *, nbf_leeway: int) -> IssuedToken:
    """Logged and counted like the endpoint's tokens and `tokens issue`, and recorded in the
    audit trail (the caller commits). Raises ProjectDisabled, or ProjectCannotSign."""
    if not project.enabled:
        raise ProjectDisabled(
            "This project is disabled: the token endpoint refuses it, so no test token is "
            "issued. Enable it first."
        )
    issued = issue_token(project, admin, nbf_leeway=nbf_leeway)
    events.token_issued(project.slug, admin.public_id, issued.claims)
    after = {"jti": issued.claims["jti"], "exp": issued.claims["exp"]}
    audit.record(AuditAction.ISSUE_TEST_TOKEN, project, {}, after, admin)
    return issued
