"""The token request's reads, made once per request and shared by the user loader
(webapp.login) and the view: one statement, or none while a read is reused. And what the
fast path (webapp.api.fast_path) already did when it hands a request to Flask."""

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, g, has_app_context, request

from webapp.api.answers import read_every_project_origins
from webapp.extensions import db
from webapp.protection.rate_limits import count_token_request
from webapp.services.known_origins import KnownOrigins
from webapp.services.token_reads import (
    TokenProject,
    TokenRead,
    TokenReads,
    TokenVisitor,
    monotonic,
    read_engine,
)

TOKEN_ENDPOINT = "api.authorize"  # noqa: S105  (an endpoint name, not a password)
HAND_OVER = "webapp.token_hand_over"  # the WSGI environ key


@dataclass
class HandOver:
    """What the fast path did before it handed the request to Flask, so Flask repeats no
    step: a database timeout is not waited out twice, a request is not counted twice."""

    read_error: Exception | None = None
    count_error: Exception | None = None
    counted: bool = False


def hand_over() -> HandOver:
    handed: HandOver = request.environ.get(HAND_OVER) or HandOver()
    return handed


def count(who: str) -> None:
    """The token limit (rate_limits.count_token_request), unless the fast path counted."""
    handed = hand_over()
    if handed.count_error is not None:
        raise handed.count_error
    if not handed.counted:
        count_token_request(current_app, who)


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
        read_error = hand_over().read_error
        if read_error is not None:
            raise read_error
        made[login_id] = token_reads().read(login_id, requested_slug())
    return made[login_id]


def token_visitor(login_id: str) -> TokenVisitor | None:
    return read_for(login_id).visitor


def served_stale() -> bool:
    """Whether this request's read was kept from before the database became unreachable."""
    return any(read.stale for read in g.get("token_reads", {}).values())


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
        current_app.extensions["known_origins"].forget()


def init_app(app: Flask) -> None:
    app.extensions["known_origins"] = KnownOrigins(read_every_project_origins, monotonic)
    app.extensions["token_reads"] = TokenReads(
        lambda: read_engine(db.engine, app.config["SQLALCHEMY_ENGINE_OPTIONS"]),
        monotonic,
        stale_if_error=app.config["TOKEN_STALE_IF_ERROR"],
    )
    if not sa.event.contains(sa.orm.Session, "after_commit", forget_reads_after_commit):
        sa.event.listen(sa.orm.Session, "after_commit", forget_reads_after_commit)
