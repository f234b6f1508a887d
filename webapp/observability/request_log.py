"""Per request: an id (`X-Request-ID`, kept from the client only when short and plain), the
latency histogram, and one log line. Kept cheap: the token endpoint runs through it."""

import logging
import re
import time
import uuid

from flask import Flask, Response, current_app, g, request

from webapp.observability import events
from webapp.observability.metrics import Metrics, metrics_of

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
    response.headers[REQUEST_ID_HEADER] = g.request_id
    record(
        metrics_of(current_app),
        g.request_id,
        started,
        request.method,
        loggable_path(),
        response.status_code,
        request.endpoint or "none",
        request.remote_addr,
        g.pop(events.REQUEST_EVENT, None),
    )
    return response


def record(
    metrics: Metrics,
    request_id: str,
    started: float,
    method: str,
    path: str,
    status: int,
    endpoint: str,
    remote_addr: str | None,
    event: events.Event | None = None,
) -> None:
    """The request's histogram and its one log line (the token fast path calls this too).
    A request that issued a token writes one line, the token's, with the request's fields:
    two lines would say one thing twice, at twice the cost on the busiest path."""
    seconds = time.perf_counter() - started
    metrics.duration_of(endpoint).observe(seconds)
    logger, level = (events.tokens_log, event.level) if event else (log, logging.INFO)
    if not logger.isEnabledFor(level):
        return
    milliseconds = round(seconds * 1000, 2)
    message = f"{method} {path} {status} {milliseconds:.2f}ms"
    fields = {
        "request_id": request_id,
        "method": method,
        "path": path,
        "status": status,
        "duration_ms": milliseconds,
        "endpoint": endpoint,
        "remote_addr": remote_addr,
    }
    if event is not None:
        message = f"{event.message} ({message})"
        fields.update(event.fields)
    logger.log(level, message, extra=fields)


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
