"""The token request's reads, made once per request and shared by the user loader
(webapp.login) and the view: one statement, or none while a read is reused."""

from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, g, has_app_context, request

from webapp.extensions import db
from webapp.services.token_reads import (
    TokenProject,
    TokenRead,
    TokenReads,
    TokenVisitor,
    monotonic,
    read_engine,
)

TOKEN_ENDPOINT = "api.authorize"  # noqa: S105  (an endpoint name, not a password)


def is_token_request() -> bool:
    return request.endpoint == TOKEN_ENDPOINT


def requested_slug() -> str | None:
    """The project the request names (`/auth/authorize/<slug>` or `?project=<slug>`), or
    None for the default project."""
    return (request.view_args or {}).get("slug") or request.args.get("project") or None


def token_reads() -> TokenReads:
    reads: TokenReads = current_app.extensions["token_reads"]
    return reads


def read_for(login_id: str | None) -> TokenRead:
    """This request's read for `login_id`; a session and a remember-me cookie may name two."""
    made: dict[str | None, TokenRead] = g.setdefault("token_reads", {})
    if login_id not in made:
        made[login_id] = token_reads().read(login_id, requested_slug())
    return made[login_id]


def token_visitor(login_id: str) -> TokenVisitor | None:
    return read_for(login_id).visitor


def requested_project() -> TokenProject | None:
    """The enabled project the request names, from the read the user loader made when
    someone is signed in, else from a read of its own."""
    made: dict[str | None, TokenRead] = g.get("token_reads", {})
    for read in made.values():
        return read.project
    return read_for(None).project


def forget_reads_after_commit(_session: Any) -> None:
    """A write by this process (an admin's change, a sign-out) is in force on its own next
    token request; other processes see it when their reads expire."""
    if has_app_context() and "token_reads" in current_app.extensions:
        token_reads().forget_reads()


def init_app(app: Flask) -> None:
    app.extensions["token_reads"] = TokenReads(
        lambda: read_engine(db.engine, app.config["SQLALCHEMY_ENGINE_OPTIONS"]), monotonic
    )
    if not sa.event.contains(sa.orm.Session, "after_commit", forget_reads_after_commit):
        sa.event.listen(sa.orm.Session, "after_commit", forget_reads_after_commit)
