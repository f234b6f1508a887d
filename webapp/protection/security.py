"""What every request and response passes for the browser's and the server's protection."""

import io

from flask import Flask, Response, abort, current_app, request

# No inline script or style anywhere: the pages' own files come from /static.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'"
)

PROTECTIVE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def refuse_large_bodies() -> None:
    """413 before the body is read, on every route, including those that never read it."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    too_large = f"The request is too large: at most {limit:,} bytes are accepted."
    if request.content_length is not None:
        if request.content_length > limit:
            abort(413, too_large)
    elif "wsgi.input_terminated" in request.environ and not buffer_unsized_body(limit):
        abort(413, too_large)


def buffer_unsized_body(limit: int) -> bool:
    """A body without Content-Length (chunked) is read up to the limit, and handed on with
    its length, or refused: Werkzeug alone would cut it off there silently. False when it
    is longer than the limit."""
    stream = request.environ["wsgi.input"]
    parts, size = [], 0
    while size <= limit:
        part = stream.read(min(64 * 1024, limit + 1 - size))
        if not part:
            break
        parts.append(part)
        size += len(part)
    if size > limit:
        return False
    request.environ["wsgi.input"] = io.BytesIO(b"".join(parts))
    request.environ["CONTENT_LENGTH"] = str(size)
    return True


def add_protective_headers(response: Response) -> Response:
    return protect(response, static=request.endpoint == "static", secure=request.is_secure)


def protect(response: Response, *, static: bool, secure: bool) -> Response:
    """The headers every answer carries, where the view has not set its own."""
    max_age = current_app.config["HSTS_MAX_AGE"]
    for name, value in protective_headers(static=static, secure=secure, hsts_max_age=max_age):
        response.headers.setdefault(name, value)
    return response


def protective_headers(*, static: bool, secure: bool, hsts_max_age: int) -> list[tuple[str, str]]:
    """What `protect` adds; the token fast path, which makes no Response, writes them itself."""
    headers = list(PROTECTIVE_HEADERS.items())
    # Pages are personal (a session, a CSRF token, a test token, a setup code), so none is
    # kept by the browser or a shared cache; only the static files may be.
    if not static:
        headers.append(("Cache-Control", "no-store"))
    # HSTS means nothing over plain HTTP, so it is only sent on secure requests.
    if hsts_max_age and secure:
        headers.append(("Strict-Transport-Security", f"max-age={hsts_max_age}"))
    return headers


def init_app(app: Flask) -> None:
    """Call before other extensions, so the size check runs before any hook reads a body."""
    app.before_request(refuse_large_bodies)
    app.after_request(add_protective_headers)
