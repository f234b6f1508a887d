from flask import Blueprint, abort, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from webapp.api.cors import cors_headers, preflight_headers
from webapp.extensions import csrf, db
from webapp.models import Project
from webapp.observability import events
from webapp.rate_limits import token_per_user
from webapp.services.tokens import ProjectCannotSign, issue_token

bp = Blueprint("api", __name__)
# Issuing a token changes nothing, and CORS keeps other sites from reading one.
csrf.exempt(bp)


def requested_project(slug: str | None) -> Project:
    """The enabled project named by `?project=`, or the default one when none is named."""
    if slug:
        project = db.session.scalar(db.select(Project).filter_by(slug=slug, enabled=True))
        if project is None:
            refused("unknown_project", requested=slug)
            abort(404, f"There is no enabled project “{slug}”.")
        return project
    project = db.session.scalar(db.select(Project).filter_by(is_default=True, enabled=True))
    if project is None:
        refused("no_default_project")
        abort(400, "Name a project: ?project=<slug>. There is no enabled default project.")
    return project


def refused(reason: str, **details: str | None) -> None:
    """A preflight asks for no token, so only real token requests count as refused."""
    if request.method != "OPTIONS":
        events.token_refused(reason, **details)


@bp.route("/auth/authorize", methods=["GET", "POST", "OPTIONS"])
@token_per_user
def authorize() -> ResponseReturnValue:
    project = requested_project(request.args.get("project"))
    origin = request.headers.get("Origin")
    if request.method == "OPTIONS":
        return "", 204, preflight_headers(origin, project.allowed_origins)

    headers = {**cors_headers(origin, project.allowed_origins), "Cache-Control": "no-store"}
    if not current_user.is_authenticated:
        refused("not_signed_in", project_slug=project.slug)
        return jsonify(success=False, error="Sign in first."), 401, headers
    try:
        issued = issue_token(
            project, current_user, nbf_leeway=current_app.config["TOKEN_NBF_LEEWAY"]
        )
    except ProjectCannotSign as error:
        refused(
            "cannot_sign",
            project_slug=project.slug,
            user_public_id=current_user.public_id,
            detail=str(error),
        )
        message = "This project cannot issue tokens right now. Please tell its administrators."
        return jsonify(success=False, error=message), 503, headers
    events.token_issued(project.slug, current_user.public_id, issued.claims)
    answer = jsonify(
        success=True,
        url=f"wss://{project.session_server}",
        jwt=issued.token,
        expires_at=issued.expires_at,
    )
    return answer, 200, headers
