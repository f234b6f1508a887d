"""Every answer of the token endpoint, a token or a refusal, in one JSON shape with one set
of headers: `Vary: Origin`, `Cache-Control: no-store`, and CORS for the project's origins."""

from collections.abc import Collection
from typing import Any

from flask import Response, current_app, jsonify, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from webapp.api.cors import cors_headers, preflight_headers
from webapp.extensions import db
from webapp.models import Project, User
from webapp.observability import events
from webapp.services.known_origins import KnownOrigins
from webapp.services.token_reads import TokenProject, TokenVisitor

TOKEN_PATH = "/auth/authorize"  # noqa: S105  (a URL path, not a password)


def is_token_path(path: str) -> bool:
    """Both forms, `/auth/authorize?project=<slug>` and `/auth/authorize/<slug>`."""
    return path == TOKEN_PATH or path.startswith(TOKEN_PATH + "/")


def token_answer(
    status: int,
    body: dict[str, Any] | None,
    allowed_origins: Collection[str] = (),
    *,
    headers: Collection[tuple[str, str]] = (),
) -> Response:
    """The one place an answer of the token endpoint is made. `body=None` is a preflight's
    empty 204; when no project is known (400, 404), `allowed_origins` are those of every
    enabled project (`any_project_origins`)."""
    return answer_for(request.headers.get("Origin"), status, body, allowed_origins, headers)


def answer_for(
    origin: str | None,
    status: int,
    body: dict[str, Any] | None,
    allowed_origins: Collection[str],
    headers: Collection[tuple[str, str]] = (),
) -> Response:
    """`token_answer` for a request's `Origin` header; needs only an app context."""
    if body is None:
        response = current_app.response_class(status=status)
        response.headers.update(preflight_headers(origin, allowed_origins))
    else:
        response = jsonify(body)
        response.status_code = status
        response.headers.update(cors_headers(origin, allowed_origins))
    for name, value in headers:
        response.headers[name] = value
    # A token, or a refusal that depends on the visitor's cookie, must never be cached.
    response.headers["Cache-Control"] = "no-store"
    return response


def token_issued(
    project: TokenProject,
    visitor: TokenVisitor | User,
    origin: str | None,
    *,
    nbf_leeway: int,
    stale: bool = False,
) -> Response:
    """A token for `visitor`, logged and counted, in the answer the vendor's SDK reads.
    Raises ProjectCannotSign (before anything is logged) when the project cannot sign."""
    body, claims = issued_body(project, visitor, nbf_leeway=nbf_leeway)
    events.token_issued(project.slug, visitor.public_id, claims, stale=stale)
    return answer_for(origin, 200, body, project.allowed_origins)


def issued_body(
    project: TokenProject, visitor: TokenVisitor | User, *, nbf_leeway: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The body of a token answer, and the token's claims (for its log line); the token
    fast path sends the same body. Raises ProjectCannotSign."""
    issued = project.issue(visitor, nbf_leeway=nbf_leeway)
    body = {
        "success": True,
        "url": f"wss://{project.session_server}",
        "jwt": issued.token,
        "expires_at": issued.expires_at,
    }
    return body, issued.claims


def refusal(
    status: int,
    message: str,
    allowed_origins: Collection[str] = (),
    *,
    headers: Collection[tuple[str, str]] = (),
) -> Response:
    body = {"success": False, "error": message}
    return token_answer(status, body, allowed_origins, headers=headers)


def error_answer(error: HTTPException) -> Response:
    """A refusal made outside the view (405, 413, 429, 500): the same shape and headers,
    with the headers the error carries (Allow, Retry-After)."""
    kept = [(name, value) for name, value in error.get_headers() if name != "Content-Type"]
    return refusal(
        error.code or 500, error.description or error.name, origins_of_named_project(), headers=kept
    )


def named_slug() -> str | None:
    """The project the request names, by path or by `?project=`, read without routing."""
    rest = request.path[len(TOKEN_PATH) :].strip("/")
    return rest or request.args.get("project") or None


def origins_of_named_project() -> Collection[str]:
    """The allowed origins of the project the request names (or of the default project),
    so a browser script on an allowed origin can read even a 405 or a 429; when no enabled
    project is named, those of every enabled project (`any_project_origins`)."""
    slug = named_slug()
    select = db.select(Project.allowed_origins).filter_by(enabled=True)
    select = select.filter_by(slug=slug) if slug else select.filter_by(is_default=True)
    try:
        origins: Collection[str] | None = db.session.scalar(select)
        return any_project_origins() if origins is None else origins
    except SQLAlchemyError as error:
        db.session.rollback()
        current_app.logger.warning("token endpoint: cannot read the allowed origins: %s", error)
        return ()


def any_project_origins() -> Collection[str]:
    """For an answer that names no project (400, 404): the origins of every enabled project,
    reused for up to a second (webapp.services.known_origins)."""
    known: KnownOrigins = current_app.extensions["known_origins"]
    return known.get()


def read_every_project_origins() -> list[Any]:
    return list(db.session.scalars(db.select(Project.allowed_origins).filter_by(enabled=True)))
