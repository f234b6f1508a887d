"""Error pages for people and JSON errors for scripts; never a traceback outside debug mode."""

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask.globals import request_ctx
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, ServiceUnavailable

from webapp.extensions import db
from webapp.models.reachability import database_unreachable

# Paths whose callers read JSON, whatever their Accept header says.
JSON_BLUEPRINTS = {"api", "ops"}

DATABASE_UNAVAILABLE = "The service cannot reach its database right now. Try again shortly."
RETRY_AFTER = 5  # seconds


def wants_json() -> bool:
    if request.blueprint in JSON_BLUEPRINTS:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def handle_http_error(error: HTTPException) -> ResponseReturnValue:
    # An error never commits, and after a failed flush the session refuses every query
    # (PendingRollbackError) until it is rolled back: the page itself must not fail too.
    db.session.rollback()
    # Imported here: the api package imports the rate limits, which import this module.
    from webapp.api.answers import error_answer, is_token_path

    # By path, not blueprint: a 405 or a 404 found by routing has no blueprint.
    if is_token_path(request.path):
        return error_answer(error)
    response: ResponseReturnValue
    if wants_json():
        response = jsonify(success=False, error=error.description)
    elif request_ctx.url_adapter is None:
        # A Host outside TRUSTED_HOSTS leaves no URLs to build, so no page with links.
        response = Response(
            f"{error.code} {error.name}: {error.description}\n", mimetype="text/plain"
        )
    else:
        response = render_template("errors.html", error=error)
    # Keep the headers the error carries for the client, such as Allow on a 405.
    headers = [(key, value) for key, value in error.get_headers() if key != "Content-Type"]
    return response, error.code or 500, headers


def database_unavailable(error: OperationalError | PoolTimeout) -> ResponseReturnValue:
    """The database is down or out of reach: 503, which a load balancer and a script both
    understand, and which ends once it is back (the pool pings before each use)."""
    if not database_unreachable(error):
        raise error  # Flask answers 500 and logs the traceback, as for any other bug
    # The engine hides bound values (hide_parameters), so the message holds no secret.
    current_app.logger.error("database unavailable: %s", str(error).splitlines()[0])
    unavailable = ServiceUnavailable(DATABASE_UNAVAILABLE, retry_after=RETRY_AFTER)
    if wants_json():  # the token endpoint's answers keep their own shape and headers
        return handle_http_error(unavailable)
    # Rendered without the context processors: Flask-Login's would load the signed-in user,
    # from the database, and fail again. For that reason the page does not extend base.html.
    template = current_app.jinja_env.get_template("unavailable.html")
    return template.render(error=unavailable), 503, {"Retry-After": str(RETRY_AFTER)}


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
    # Other database errors are bugs: they stay 500s with their traceback in the log.
    app.register_error_handler(OperationalError, database_unavailable)
    app.register_error_handler(PoolTimeout, database_unavailable)
