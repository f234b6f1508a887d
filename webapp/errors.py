"""Error pages for people and JSON errors for scripts; never a traceback outside debug mode."""

from flask import Flask, Response, jsonify, render_template, request
from flask.globals import request_ctx
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from webapp.extensions import db

# Paths whose callers read JSON, whatever their Accept header says.
JSON_BLUEPRINTS = {"api", "ops"}


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


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
