from flask import Blueprint, Response, current_app, request
from flask_login import current_user

from webapp.api import bearer, token_request
from webapp.api.answers import (
    TOKEN_PATH,
    any_project_origins,
    refusal,
    token_answer,
    token_issued,
)
from webapp.extensions import csrf, limiter
from webapp.observability import events
from webapp.protection.rate_limits import TOKEN_ENDPOINT_EXEMPTION, user_key
from webapp.services.tokens import ProjectCannotSign

bp = Blueprint("api", __name__)
# Issuing a token changes nothing, and CORS keeps other sites from reading one.
csrf.exempt(bp)

METHODS = ["GET", "POST", "OPTIONS"]
NO_DEFAULT = (
    "Name a project: /auth/authorize/<slug> or ?project=<slug>. "
    "There is no enabled default project."
)


def refused(reason: str, **details: str | None) -> None:
    """A preflight asks for no token, so only real token requests count as refused."""
    if request.method != "OPTIONS":
        events.token_refused(reason, **details)


def unknown_project_message(slug: str) -> str:
    message = f"There is no enabled project “{slug}”."
    name, question_mark, _ = slug.partition("?")
    if question_mark:  # `?project=x?sessionId=…`: the SDK appended to a URL with a query
        message += f" The Web SDK's authServer must be the path form /auth/authorize/{name}."
    return message


# The path form exists for the vendor's Web SDK: its API-key flow resumes a session by
# requesting `authServer + '?sessionId=<id>'`, which only works when authServer has no query.
# In both forms, query parameters the endpoint does not know are ignored.
@bp.route(TOKEN_PATH, methods=METHODS)
@bp.route(f"{TOKEN_PATH}/<slug>", methods=METHODS)
def authorize(slug: str | None = None) -> Response:
    # A bearer token is judged alone: the session cookie is then never read.
    authorization = bearer.presented()
    # First: the user is read with the project.
    signed_in = authorization is None and current_user.is_authenticated
    if request.method != "OPTIONS" and authorization is None:  # HEAD too: it gets a token
        token_request.count(user_key())
    slug = slug or request.args.get("project")
    project = token_request.requested_project()
    if project is None:
        if slug:
            refused("unknown_project", requested=slug)
            return refusal(404, unknown_project_message(slug), any_project_origins())
        refused("no_default_project")
        return refusal(400, NO_DEFAULT, any_project_origins())
    origins = project.allowed_origins
    if request.method == "OPTIONS":
        return token_answer(204, None, origins)
    if authorization is not None:
        return bearer.answer(project, authorization)
    if not signed_in:
        refused("not_signed_in", project_slug=project.slug)
        return refusal(401, "Sign in first.", origins)
    try:
        return token_issued(
            project,
            current_user,
            request.headers.get("Origin"),
            nbf_leeway=current_app.config["TOKEN_NBF_LEEWAY"],
            stale=token_request.served_stale(),
        )
    except ProjectCannotSign as error:
        refused(
            "cannot_sign",
            project_slug=project.slug,
            user_public_id=current_user.public_id,
            detail=str(error),
        )
        message = "This project cannot issue tokens right now. Please tell its administrators."
        return refusal(503, message, origins)


limiter.exempt(authorize, flags=TOKEN_ENDPOINT_EXEMPTION)
