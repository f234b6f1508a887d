"""Command-line tools for ops: `flask --app webapp <group> <command>`, one group per noun."""

from flask import Flask

from webapp.cli import setup, users


def init_app(app: Flask) -> None:
    app.cli.add_command(users.group)
    app.cli.add_command(setup.setup_link)
