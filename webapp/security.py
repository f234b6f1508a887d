"""Response headers every page carries for the browser's protection."""

from flask import Flask, Response, current_app, request


def add_strict_transport_security(response: Response) -> Response:
    """HSTS means nothing over plain HTTP, so it is only sent on secure requests."""
    max_age = current_app.config["HSTS_MAX_AGE"]
    if max_age and request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", f"max-age={max_age}")
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_strict_transport_security)
