"""Per request: an id (`X-Request-ID`, kept from the client only when short and plain), the
latency histogram, and one log line. Kept cheap: the token endpoint runs through it."""

import logging
import re
import time
import uuid

from flask import Flask, Response, current_app, g, request

from webapp.observability.metrics import metrics_of

REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is kept only when it cannot forge a log line or fill one.
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# View arguments whose values are secrets (a reset or setup link): masked in the logged path.
SECRET_VIEW_ARGS = frozenset({"token", "code", "secret", "key"})

log = logging.getLogger("webapp.requests")


def start_request() -> None:
    g.request_started = time.perf_counter()
    g.request_id = request_id(request.headers.get(REQUEST_ID_HEADER))


def request_id(given: str | None) -> str:
    return given if given and SAFE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def finish_request(response: Response) -> Response:
    started = g.get("request_started")
    if started is None:  # a hook before ours answered; nothing was measured
        return response
    endpoint = request.endpoint or "none"
    path = loggable_path() if log.isEnabledFor(logging.INFO) else ""
    return record(response, started, request.method, path, endpoint, request.remote_addr)


def record(
    response: Response,
    started: float,
    method: str,
    path: str,
    endpoint: str,
    remote_addr: str | None,
) -> Response:
    """The request's id header, histogram and log line (the token fast path calls this too,
    in an app context whose `g.request_id` is set)."""
    seconds = time.perf_counter() - started
    response.headers[REQUEST_ID_HEADER] = g.request_id
    metrics_of(current_app).request_duration.labels(endpoint).observe(seconds)
    if log.isEnabledFor(logging.INFO):
        milliseconds = round(seconds * 1000, 2)
        log.info(
            "%s %s %s %.2fms",
            method,
            path,
            response.status_code,
            milliseconds,
            extra={
                "method": method,
                "path": path,
                "status": response.status_code,
                "duration_ms": milliseconds,
                "endpoint": endpoint,
                "remote_addr": remote_addr,
            },
        )
    return response


def loggable_path() -> str:
    """The path without the query string, and with secret path parts masked."""
    path = request.path
    arguments = request.view_args
    if arguments:
        for name in SECRET_VIEW_ARGS.intersection(arguments):
            path = path.replace(str(arguments[name]), "[masked]")
    return path


def init_app(app: Flask) -> None:
    app.before_request_funcs.setdefault(None, []).insert(0, start_request)
    app.after_request(finish_request)
