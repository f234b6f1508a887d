"""Command-line tools for ops: `flask --app webapp <group> <command>`, one group per noun.

Every command answers an expected failure in one line and a non-zero exit, never a traceback:
`OpsGroup` (and `OpsCommand` for a command without a group) translate the errors that any
command can meet, so no command needs a try of its own for them."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy.exc import DBAPIError, SQLAlchemyError


def first_line(error: BaseException) -> str:
    # A DBAPI error's own text carries the SQL and its parameters: keep the driver's first line.
    text = str(error.orig) if isinstance(error, DBAPIError) else str(error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__


def unreachable(error: SQLAlchemyError) -> bool:
    """Connecting failed (no statement was sent yet), or the connection was lost."""
    return isinstance(error, DBAPIError) and (
        error.statement is None or error.connection_invalidated
    )


@contextmanager
def one_line_errors() -> Iterator[None]:
    try:
        yield
    except SQLAlchemyError as error:
        if unreachable(error):
            message = f"The database cannot be reached: {first_line(error)}"
            raise click.ClickException(message) from None
        raise click.ClickException(
            f"Database error (is the schema up to date? `flask db upgrade`): {first_line(error)}"
        ) from None


class OpsGroup(AppGroup):
    """A command group whose commands report database failures in one line."""

    def invoke(self, ctx: click.Context) -> Any:
        with one_line_errors():
            return super().invoke(ctx)


class OpsCommand(click.Command):
    def invoke(self, ctx: click.Context) -> Any:
        with one_line_errors():
            return super().invoke(ctx)


def init_app(app: Flask) -> None:
    # Imported here: the command modules use the classes above.
    from webapp.cli import keys, projects, setup, tokens, users

    for group in (users.group, projects.group, keys.group, tokens.group):
        app.cli.add_command(group)
    app.cli.add_command(setup.setup_link)
