"""The process's logging, set up by the factory: JSON lines in production, one object per
line, and readable text in development. Every line written during a request carries its id."""

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from flask import Flask, g, has_app_context
from flask.logging import default_handler

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
# Everything a LogRecord carries by itself; the rest came as `extra=` and goes into the JSON.
STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "request_id",
    "taskName",
}


# Loggers that say nothing an operator needs at INFO (Alembic lists its plugins on import).
QUIET_LOGGERS = ("alembic.runtime.plugins",)


class StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever `sys.stderr` is at the time: servers and test runners replace it
    after the app is built, and a handler holding the old one would write into a closed file."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> TextIO:  # type: ignore[override]  # read-only on purpose
        return sys.stderr


# Made once: json.dumps with options builds an encoder per call, a third of the cost of a line.
ENCODER = json.JSONEncoder(default=str, ensure_ascii=False)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, then the extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for name, value in vars(record).items():
            if name not in STANDARD_ATTRIBUTES:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return ENCODER.encode(entry)


def add_request_id(record: logging.LogRecord) -> bool:
    """The id is on `g`, which an app context holds: a request's, or the token fast path's."""
    if has_app_context():
        request_id = g.get("request_id")
        if request_id is not None:
            record.request_id = request_id
    return True


def make_handler(json_lines: bool) -> logging.Handler:
    handler = StderrHandler()
    handler.addFilter(add_request_id)
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT, defaults={"request_id": "-"}))
    return handler


def init_app(app: Flask) -> None:
    """One handler on the root logger, so the app's lines, SQLAlchemy's and the server's
    share one format. Building the app again (tests, CLI) replaces it rather than adding one."""
    # No format here names the calling function, thread or process, so no record looks them
    # up: the Logging HOWTO's "Optimization" settings, a tenth of a token request's logging.
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, StderrHandler)]:
        root.removeHandler(handler)
    root.addHandler(make_handler(json_lines=app.config["DEPLOYMENT"] == "production"))
    root.setLevel(app.config["LOG_LEVEL"].upper())
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    # The root handler writes the app's lines; Flask's own would write each one twice.
    app.logger.removeHandler(default_handler)
