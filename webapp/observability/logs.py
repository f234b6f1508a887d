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

# Characters that end a line, or move the cursor, in some reader of the log: C0 and C1
# controls, DEL, and the Unicode line and paragraph separators (str.splitlines splits on
# several of them). A value holding one (a decoded `%0a` in a path) could forge a line.
CONTROL_ESCAPES = {
    code: f"\\u{code:04x}" for code in [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029]
}


def escape_controls(text: str) -> str:
    """`\\uXXXX` for each such character: readable in text, and valid inside a JSON string."""
    return text.translate(CONTROL_ESCAPES)


class TextFormatter(logging.Formatter):
    """Development's readable lines, one per record: every value is escaped (a traceback,
    appended after, keeps its own lines)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return escape_controls(super().formatMessage(record))


def escape_json_line(line: str) -> str:
    """The JSON encoder escapes C0 controls itself; what it writes as is (DEL, C1, U+2028,
    U+2029) can only stand inside a string, where `\\uXXXX` means the same. A plain ASCII
    line, nearly every one, is checked in two quick scans and left alone."""
    if line.isascii() and "\x7f" not in line:
        return line
    return escape_controls(line)


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
        return escape_json_line(ENCODER.encode(entry))


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
        handler.setFormatter(TextFormatter(TEXT_FORMAT, defaults={"request_id": "-"}))
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
