"""Error pages for people and JSON errors for scripts; never a traceback outside debug mode."""

from flask import Flask, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

# Paths whose callers read JSON, whatever their Accept header says.
JSON_BLUEPRINTS = {"api", "ops"}


def wants_json() -> bool:
    if request.blueprint in JSON_BLUEPRINTS:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def handle_http_error(error: HTTPException) -> ResponseReturnValue:
    response = (
        jsonify(success=False, error=error.description)
        if wants_json()
        else render_template("errors.html", error=error)
    )
    # Keep the headers the error carries for the client, such as Allow on a 405.
    headers = [(key, value) for key, value in error.get_headers() if key != "Content-Type"]
    return response, error.code or 500, headers


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
