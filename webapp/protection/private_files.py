"""The SQLite database holds password hashes and encrypted keys: its file is made 0600, like
the generated secrets beside it in instance/, rather than SQLite's 0644."""

import contextlib
import os
from typing import Any

import sqlalchemy as sa
from flask import Flask

from webapp.extensions import db


def create_private_file(path: str) -> None:
    """Made empty with mode 0600 unless it exists (an existing file keeps its mode). SQLite
    then opens it as a new database, and gives its journal and WAL files the same mode. A
    missing folder is left missing: SQLite's own error says the database cannot be opened."""
    if os.path.exists(path) or not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        return
    # FileExistsError: another worker made it at the same moment, with the same mode.
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def before_sqlite_connects(
    _dialect: Any, _record: Any, arguments: list[Any], _options: dict[str, Any]
) -> None:
    """At the first connection, not at start: a command that never opens the database
    makes no file."""
    path = arguments[0] if arguments else ""
    if isinstance(path, str) and path and path != ":memory:" and not path.startswith("file:"):
        create_private_file(path)


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
    if engine.url.get_backend_name() == "sqlite":
        sa.event.listen(engine, "do_connect", before_sqlite_connects)
